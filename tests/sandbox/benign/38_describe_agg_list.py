# expect: stats.csv
import numpy as np
import pandas as pd

df = pd.read_csv("input.csv")
num = df[["age", "income", "churn"]]
s1 = num.agg(["mean", "std"])
s2 = num.agg({"age": ["min", "max"], "income": "median"})
s3 = num.agg(np.mean)
s4 = df["income"].agg(["sum", "mean", "std", "skew"])
s5 = num.apply(lambda c: c.max() - c.min())
s6 = num.transform(lambda c: c - c.mean())
s7 = num.apply(np.log1p)
desc = num.describe(percentiles=[0.1, 0.9]).T
corr = num.corr(method="spearman")
assert s1.shape == (2, 3) and len(s2) >= 1 and len(s3) == 3 and len(s4) == 4 and len(s5) == 3
assert s6.shape == num.shape and s7.shape == num.shape and corr.shape == (3, 3)
pd.concat([desc, s1.T.add_prefix("agg_")], axis=1).to_csv("stats.csv")
