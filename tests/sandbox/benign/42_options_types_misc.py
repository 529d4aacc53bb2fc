# expect: misc.png, misc.json
import json
from collections import Counter

import lightgbm as lgb
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

pd.set_option("display.max_columns", 50)
pd.options.display.max_rows = 20
plt.rcParams.update({"font.size": 8})
plt.rcParams["figure.dpi"] = 80
sns.set_theme(style="ticks", rc={"figure.figsize": (6, 4)})

df = pd.read_csv("input.csv")
assert type(df) is pd.DataFrame and isinstance(df["age"], pd.Series) and type(len("x")) is int
assert type(df["age"].to_numpy()) is np.ndarray and type(np.float64(1.0)) is np.float64
roll = df["income"].rolling(5, win_type="gaussian").mean(std=2)
ewm = df["income"].ewm(span=5).mean()
X = df[["age", "income"]].to_numpy()
y = df["income"].to_numpy()
reg = lgb.LGBMRegressor(n_estimators=20, verbose=-1).fit(X, y)
b = reg.booster_
p = b.predict(data=X[:5])
d = {"a": 1}
dict.update(d, {"b": 2})
counts = Counter(df["city"])
fig, ax = plt.subplots()
sns.heatmap(df[["age", "income", "churn"]].corr(), annot=True, fmt=".2f", ax=ax)
ax.set_xticklabels(ax.get_xticklabels(), rotation=45)
plt.tight_layout()
fig.savefig("misc.png")
with open("misc.json", "w") as fh:
    json.dump(
        {
            "roll": float(roll.dropna().iloc[0]),
            "ewm": float(ewm.iloc[-1]),
            "p": [float(v) for v in p],
            "d": d,
            "top": counts.most_common(1)[0][0],
        },
        fh,
    )
