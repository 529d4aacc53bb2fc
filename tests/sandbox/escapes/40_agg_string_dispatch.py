# string dispatch: agg("to_pickle", path) calls getattr inside pandas
import pandas as pd
df = pd.DataFrame({"a": [1]})
df.agg("to_pickle", "{CANARY}")
