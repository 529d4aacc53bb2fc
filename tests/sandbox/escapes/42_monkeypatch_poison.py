# poison json.dumps / pandas for later runs (must not leak to the next run)
import json
import pandas as pd
json.dumps = lambda *a, **k: "POISONED"
pd.DataFrame.sum = lambda self, *a, **k: "POISONED"
