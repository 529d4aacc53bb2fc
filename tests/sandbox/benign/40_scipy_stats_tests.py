# expect: tests.json
import json

import numpy as np
import pandas as pd
from scipy import stats
from scipy.optimize import minimize
from scipy.spatial.distance import cdist

df = pd.read_csv("input.csv")
a = df.loc[df["churn"] == 1, "income"]
b = df.loc[df["churn"] == 0, "income"]
t = stats.ttest_ind(a, b, equal_var=False)
chi = stats.chi2_contingency(pd.crosstab(df["city"], df["churn"]))
rho = stats.spearmanr(df["age"], df["income"])
z = stats.zscore(df["income"])
res = minimize(lambda p: float(np.sum((df["income"] - p[0]) ** 2)), x0=[0.0])
D = cdist(df[["age", "income"]].to_numpy()[:5], df[["age", "income"]].to_numpy()[:5])
with open("tests.json", "w") as fh:
    json.dump(
        {
            "t": float(t.statistic),
            "chi_p": float(chi[1]),
            "rho": float(rho[0]),
            "zmax": float(np.max(z)),
            "mu": float(res.x[0]),
            "d": float(D[0, 1]),
        },
        fh,
    )
