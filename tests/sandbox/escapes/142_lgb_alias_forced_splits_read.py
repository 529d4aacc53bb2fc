# (f) an alias of forcedsplits_filename makes LightGBM read a file outside the workdir into the model
# expect-error: PolicyViolation
import lightgbm as lgb
import numpy as np
params = {"verbose": -1, "forced_splits_filename": "{CANARY}", "num_iterations": 1}
booster = lgb.train(params, lgb.Dataset(np.random.rand(200, 3), np.random.rand(200)))
print(booster.dump_model())
