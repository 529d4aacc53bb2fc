# (f) GridSearchCV searching over memory= makes joblib cache pickles under any directory
import numpy as np
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

p = Pipeline([("s", StandardScaler()), ("m", LinearRegression())])
g = GridSearchCV(p, {"memory": ["{CANARY}.pwned_cache"]}, cv=2)
g.fit(np.random.rand(10, 2), np.random.rand(10))
