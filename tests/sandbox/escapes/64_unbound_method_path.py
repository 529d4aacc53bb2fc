# call a writer unbound so the path is not the first argument
import pandas as pd
df = pd.DataFrame({"a": [1]})
pd.DataFrame.to_csv(df, "{CANARY}")
