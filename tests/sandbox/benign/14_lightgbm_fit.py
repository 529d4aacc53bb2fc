# expect: lgb_importance.csv
import lightgbm as lgb
import pandas as pd

df = pd.read_csv("input.csv")
X = df[["age", "income"]]
y = df["churn"]
clf = lgb.LGBMClassifier(n_estimators=30, learning_rate=0.1, verbose=-1)
clf.fit(X, y)
pd.DataFrame({"feature": X.columns, "importance": clf.feature_importances_}).to_csv("lgb_importance.csv", index=False)
print(clf.predict_proba(X)[:3])
