# (b)/(e) pandas.core.apply.frame_apply(df, "to_pickle", ...) is the string-dispatch engine behind df.agg but is not wrapped: getattr(df,"to_pickle")(path); driver sees {CANARY}.pwned_fa.pkl created
# red team 2026-12-07, docs/redteam-2026-12-07/success_20_core_apply_frame_apply_to_pickle.py.txt
import pandas as pd

df = pd.DataFrame({"a": [1.0, 2.0]})
result = pd.core.apply.frame_apply(df, "to_pickle", args=("{CANARY}.pwned_fa.pkl",), kwargs={}).agg()
print(result)
