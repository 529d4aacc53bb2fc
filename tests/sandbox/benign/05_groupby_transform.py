import pandas as pd

df = pd.read_csv("input.csv")
df["city_mean_income"] = df.groupby("city")["income"].transform("mean")
df["income_z"] = df.groupby("city")["income"].transform(lambda s: (s - s.mean()) / (s.std() + 1e-9))
agg = df.groupby("city").agg(n=("id", "count"), avg_age=("age", "mean"), max_income=("income", lambda s: s.max()))
print(agg)
