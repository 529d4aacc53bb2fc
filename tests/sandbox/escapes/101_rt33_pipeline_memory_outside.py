# (f) sklearn Pipeline(memory=PATH) makes joblib.Memory write pickled cache entries to any directory (and joblib unpickles them on later fits); driver sees {CANARY}.pwned_cache created
# red team 2026-12-07, docs/redteam-2026-12-07/success_33_pipeline_memory_outside.py.txt
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import LinearRegression
import numpy as np

p = Pipeline([("s", StandardScaler()), ("m", LinearRegression())], memory="{CANARY}.pwned_cache")
p.fit(np.random.rand(10, 2), np.random.rand(10))
