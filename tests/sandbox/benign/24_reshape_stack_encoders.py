# expect: pivot.csv
import numpy as np
import pandas as pd
from sklearn.preprocessing import LabelEncoder

df = pd.read_csv("input.csv")
pivot = df.pivot_table(index="city", columns="churn", values="income", aggfunc="mean")
stacked = pivot.stack()
melted = df.melt(id_vars=["id"], value_vars=["age", "income"])
labels = df["city"].where(df["age"] > 30, "_young")
codes = LabelEncoder().fit(labels).transform(["_young"])
m = np.corrcoef(df["age"], df["income"])
pivot.to_csv("pivot.csv")
print(stacked.shape, melted.shape, codes, round(float(np.trace(m)), 2))
