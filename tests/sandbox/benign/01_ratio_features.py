# expect: features.parquet
import numpy as np
import pandas as pd

df = pd.read_csv("input.csv")
df["ratio"] = df["income"] / df["age"]
df["log_income"] = np.log1p(df["income"])
df["is_senior"] = np.where(df["age"] >= 60, 1, 0)
df.to_parquet("features.parquet")
