# (f) LightGBM parameters that name files (output_model, forcedbins_filename ...) read/write natively
import lightgbm as lgb
import numpy as np

X = np.random.rand(50, 3)
y = np.random.rand(50)
lgb.train({"verbose": -1, "output_model": "{CANARY}.pwned_model.txt"}, lgb.Dataset(X, y), num_boost_round=2)
