import pandas as pd

df = pd.read_csv("input.csv")
cols = [c for c in df.columns if c not in ("id", "churn")]
types = {c: str(df[c].dtype) for c in cols}
summary = [f"{c}: {t}" for c, t in sorted(types.items())]
squares = {i: i * i for i in range(5)}
print("\n".join(summary), squares, sum(x for x in range(10) if x % 2))
