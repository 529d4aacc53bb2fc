import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

df = pd.read_csv("input.csv")
pre = ColumnTransformer(
    [("num", StandardScaler(), ["age", "income"]), ("cat", OneHotEncoder(handle_unknown="ignore"), ["city"])]
)
model = Pipeline([("pre", pre), ("rf", RandomForestClassifier(n_estimators=20, random_state=0))])
model.fit(df[["age", "income", "city"]], df["churn"])
print(model.score(df[["age", "income", "city"]], df["churn"]))
print(list(model.named_steps["pre"].get_feature_names_out())[:4])
