# expect: lgb_best.json
import json

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

df = pd.read_csv("input.csv")
df["city"] = df["city"].astype("category")
X = df[["age", "income", "city"]]
y = df["churn"]
X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.25, random_state=0)
train = lgb.Dataset(X_tr, y_tr, params={"verbose": -1})
valid = lgb.Dataset(X_va, y_va, reference=train)
evals = {}
booster = lgb.train(
    {"objective": "binary", "metric": "auc", "learning_rate": 0.1, "num_leaves": 7, "verbose": -1},
    train,
    num_boost_round=200,
    valid_sets=[valid],
    callbacks=[lgb.early_stopping(10, verbose=False), lgb.record_evaluation(evals), lgb.log_evaluation(0)],
)
clf = lgb.LGBMClassifier(n_estimators=50, learning_rate=0.1, verbose=-1)
clf.fit(X_tr, y_tr, eval_set=[(X_va, y_va)], callbacks=[lgb.early_stopping(5, verbose=False)])
pred = booster.predict(X_va, num_iteration=booster.best_iteration)
with open("lgb_best.json", "w") as fh:
    json.dump(
        {"best": int(booster.best_iteration), "mean_pred": float(np.mean(pred)), "sk_best": clf.best_iteration_}, fh
    )
