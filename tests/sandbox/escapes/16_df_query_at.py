# DataFrame.query with @ reaching Python objects
import pandas as pd
df = pd.DataFrame({"a": [1, 2]})
print(df.query("@df.__class__.__init__.__globals__"))
