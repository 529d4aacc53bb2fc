# the shape the pipeline's feature step generates: transform(df) -> DataFrame
import math

import numpy as np
import pandas as pd


def transform(df):
    out = pd.DataFrame(index=df.index)
    out["log_income"] = np.log1p(df["income"].clip(lower=0))
    out["age_sq"] = df["age"] ** 2
    out["income_per_age"] = df["income"] / df["age"].replace(0, np.nan)
    out["city_freq"] = df["city"].map(df["city"].value_counts(normalize=True))
    d = pd.to_datetime(df["signup"], errors="coerce")
    out["signup_month"] = d.dt.month.fillna(0).astype(int)
    out["sin_month"] = np.sin(2 * math.pi * out["signup_month"] / 12)
    out["is_senior"] = (df["age"] >= 65).astype(int)
    out = out.replace([np.inf, -np.inf], np.nan).fillna(0)
    return out


feat = transform(pd.read_csv("input.csv"))
assert feat.shape[0] == 120 and not feat.isna().any().any()
print(feat.describe().round(2).to_string())
