# (f) np.savetxt / to_csv(path_or_buf=) / json.dump to a handle: every writer goes through the path guard
import numpy as np
import pandas as pd

pd.DataFrame({"a": [1]}).to_csv(path_or_buf="{CANARY}.pwned.csv")
np.savetxt("{CANARY}.pwned.txt", np.arange(3))
