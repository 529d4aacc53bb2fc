# expect: clean.csv, summary.txt
import io
import json

import pandas as pd

df = pd.read_csv("input.csv", usecols=["id", "age", "income", "city"], dtype={"city": "category"})
df = df.dropna()
df.to_csv("clean.csv", index=False, sep=";", float_format="%.2f")
back = pd.read_csv("clean.csv", sep=";")
assert back.shape == df.shape
buf = io.StringIO()
back.head().to_csv(buf, index=False)
again = pd.read_csv(io.StringIO(buf.getvalue()))
chunks = [c["income"].sum() for c in pd.read_csv("clean.csv", sep=";", chunksize=50)]
back.to_json("clean.json", orient="records")
recs = pd.read_json("clean.json")
with open("summary.txt", "w") as fh:
    fh.write(f"rows={len(back)} chunks={len(chunks)} again={len(again)} json={len(recs)}\n")
    fh.write(json.dumps({"cols": list(back.columns)}))
