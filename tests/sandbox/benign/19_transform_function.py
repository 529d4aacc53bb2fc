import numpy as np
import pandas as pd


def transform(df):
    df = df.copy()
    df["income_per_year"] = df["income"] / df["age"].clip(lower=1)
    df["age_bucket"] = pd.cut(df["age"], bins=[0, 30, 50, 120], labels=["young", "mid", "old"]).astype(str)
    df["log_income"] = np.log1p(df["income"].clip(lower=0))
    return df


print(transform(pd.read_csv("input.csv")).head())
