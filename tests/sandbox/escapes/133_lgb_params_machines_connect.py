# (f) the same through training parameters: tree_learner="data", machines="127.0.0.1:PORT"
# expect-error: PolicyViolation
import lightgbm as lgb
import numpy as np
params = {"verbose": -1, "tree_learner": "data", "num_machines": 2, "machines": "127.0.0.1:{PORT},127.0.0.1:12401", "local_listen_port": 12401, "time_out": 1}
lgb.train(params, lgb.Dataset(np.random.rand(30, 2), np.random.rand(30)), num_boost_round=1)
