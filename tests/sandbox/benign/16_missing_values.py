import numpy as np
import pandas as pd

df = pd.read_csv("input.csv")
df.loc[df.index % 7 == 0, "income"] = np.nan
df["income_missing"] = df["income"].isna().astype(int)
df["income"] = df["income"].fillna(df["income"].median())
df = df.dropna(subset=["age"])
print(df.isna().sum().to_dict())
