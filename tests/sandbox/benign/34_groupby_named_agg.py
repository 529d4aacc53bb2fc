# expect: groups.csv
import numpy as np
import pandas as pd

df = pd.read_csv("input.csv")
g = df.groupby("city").agg(
    total=("income", "sum"),
    avg_age=("age", "mean"),
    n=("id", "count"),
    churn_rate=("churn", "mean"),
    spread=("income", lambda s: s.max() - s.min()),
    p90=("income", lambda s: np.percentile(s, 90)),
)
g2 = df.groupby(["city", "churn"], as_index=False).agg(income_mean=pd.NamedAgg(column="income", aggfunc="mean"))
multi = df.groupby("city")["income"].agg(["mean", "std", "min", "max"])
dict_agg = df.groupby("city").agg({"income": ["mean", "median"], "age": "max"})
df["city_mean_income"] = df.groupby("city")["income"].transform("mean")
df["income_rank"] = df.groupby("city")["income"].rank(ascending=False)
df["income_z"] = df.groupby("city")["income"].transform(lambda s: (s - s.mean()) / s.std())
top = df.groupby("city").apply(lambda x: x.nlargest(2, "income"), include_groups=False)
per_city = df.groupby("city")["age"].apply(lambda s: s.quantile(0.75))
cum = df.sort_values("signup").groupby("city")["income"].cumsum()
assert len(g2) > 0 and multi.shape[1] == 4 and len(top) == 8 and len(per_city) == 4 and len(cum) == len(df)
assert dict_agg.shape[0] == 4
g.join(multi).to_csv("groups.csv")
