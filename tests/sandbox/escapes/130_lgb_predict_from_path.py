# (f) Booster.predict(PATH) and train(init_model=PATH) make LightGBM read files natively
# expect-error: PolicyViolation
import lightgbm as lgb
import numpy as np
b = lgb.train({"verbose": -1}, lgb.Dataset(np.random.rand(30, 2), np.random.rand(30)), num_boost_round=1)
print(b.predict("{CANARY}"))
