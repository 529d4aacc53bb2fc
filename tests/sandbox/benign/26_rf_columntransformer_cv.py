# expect: cv_scores.json
import json

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

df = pd.read_csv("input.csv")
X = df[["age", "income", "city"]]
y = df["churn"]
pre = ColumnTransformer(
    [
        ("num", Pipeline([("imp", SimpleImputer(strategy="median")), ("sc", StandardScaler())]), ["age", "income"]),
        ("cat", OneHotEncoder(handle_unknown="ignore"), ["city"]),
    ]
)
model = Pipeline([("pre", pre), ("rf", RandomForestClassifier(n_estimators=30, n_jobs=-1, random_state=0))])
scores = cross_val_score(model, X, y, cv=StratifiedKFold(n_splits=3, shuffle=True, random_state=0), scoring="roc_auc")
model.fit(X, y)
proba = model.predict_proba(X)[:, 1]
with open("cv_scores.json", "w") as fh:
    json.dump({"mean": float(np.mean(scores)), "folds": [float(s) for s in scores], "p0": float(proba[0])}, fh)
