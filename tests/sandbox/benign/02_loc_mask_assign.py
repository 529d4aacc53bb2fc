import pandas as pd

df = pd.read_csv("input.csv")
mask = df["income"] < 0
df.loc[mask, "income"] = 0
df.loc[df["age"] > 90, ["age"]] = 90
df["income"] += 1
df["age"] *= 1.0
df.loc[:, "income"] /= 1000
print(df[["age", "income"]].describe())
