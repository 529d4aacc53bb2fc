# expect: bins.csv
import numpy as np
import pandas as pd

df = pd.read_csv("input.csv")
df["age_band"] = pd.cut(df["age"], bins=[0, 30, 45, 60, 120], labels=["<30", "30-44", "45-59", "60+"], right=False)
df["income_q"] = pd.qcut(df["income"], q=4, labels=False)
df["income_dec"] = pd.qcut(df["income"].rank(method="first"), 10, labels=[f"d{i}" for i in range(10)])
edges = np.linspace(df["age"].min(), df["age"].max(), 6)
df["age_eq"] = pd.cut(df["age"], edges, include_lowest=True).astype(str)
counts = df["age_band"].value_counts(sort=False)
rate = df.groupby("age_band", observed=True)["churn"].mean()
dummies = pd.get_dummies(df["age_band"], prefix="band", dtype=int)
out = pd.concat([df, dummies], axis=1)
assert counts.sum() == len(df) and len(rate) <= 4
out.to_csv("bins.csv", index=False)
