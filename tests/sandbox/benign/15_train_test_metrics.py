import numpy as np
import pandas as pd
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.metrics import mean_absolute_error, r2_score
from sklearn.model_selection import train_test_split

df = pd.read_csv("input.csv")
X_train, X_test, y_train, y_test = train_test_split(df[["age", "churn"]], df["income"], test_size=0.25, random_state=1)
m = GradientBoostingRegressor(n_estimators=30).fit(X_train, y_train)
pred = m.predict(X_test)
print(round(mean_absolute_error(y_test, pred), 2), round(r2_score(y_test, pred), 3), np.mean(pred))
