# expect: out.json, out.parquet, out.csv
import json

import pandas as pd

df = pd.read_csv("input.csv")
summary = {"rows": int(len(df)), "cols": list(df.columns)}
with open("out.json", "w") as f:
    json.dump(summary, f, indent=2)
df.head(10).to_parquet("out.parquet", index=False)
df.head(10).to_csv("out.csv", index=False)
back = pd.read_parquet("out.parquet")
print(back.shape)
