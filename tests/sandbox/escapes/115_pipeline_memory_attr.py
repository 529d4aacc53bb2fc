# (f) setting pipe.memory after construction, then fitting inside cross_val_score
import numpy as np
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

p = make_pipeline(StandardScaler(), LinearRegression())
p.memory = "{CANARY}.pwned_cache"
cross_val_score(p, np.random.rand(12, 2), np.random.rand(12), cv=2)
