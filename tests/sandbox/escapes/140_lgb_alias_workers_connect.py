# (f) LightGBM's own aliases of the network parameters (workers, num_machine, tree_learner_type) through lgb.train
# expect-error: PolicyViolation
import lightgbm as lgb
import numpy as np
params = {"verbose": -1, "workers": "127.0.0.1:{PORT},127.0.0.1:12402", "num_machine": 2, "tree_learner_type": "data"}
lgb.train(params, lgb.Dataset(np.random.rand(30, 2), np.random.rand(30)), num_boost_round=1)
