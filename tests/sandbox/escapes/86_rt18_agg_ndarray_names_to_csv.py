# (b) scan_strings skips ndarrays: Series.agg(np.array(["to_csv"]), axis, path) dispatches to_csv by name unguarded; driver sees {CANARY}.pwned_agg.csv created
# red team 2026-12-07, docs/redteam-2026-12-07/success_18_agg_ndarray_names_to_csv.py.txt
import pandas as pd
import numpy as np

s = pd.Series([1, 2])
result = s.agg(np.array(["to_csv"]), 0, "{CANARY}.pwned_agg.csv")
print(result)
