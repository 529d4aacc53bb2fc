# (d)/(f) type(booster) is the raw lightgbm Booster class: Booster(model_file=PATH) reads natively, skipping the path guard
# expect-error: PolicyViolation
import lightgbm as lgb
import numpy as np
b = lgb.train({"verbose": -1}, lgb.Dataset(np.random.rand(30, 2), np.random.rand(30)), num_boost_round=1)
B = type(b)
print(B(model_file="{CANARY}"))
