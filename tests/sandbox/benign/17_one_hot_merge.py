import pandas as pd

df = pd.read_csv("input.csv")
dummies = pd.get_dummies(df["city"], prefix="city", dtype=int)
df = pd.concat([df, dummies], axis=1)
stats = df.groupby("city", as_index=False)["income"].mean().rename(columns={"income": "city_avg"})
df = df.merge(stats, on="city", how="left")
df = df.sort_values(["city", "age"]).reset_index(drop=True)
print(df.shape, sorted(dummies.columns))
