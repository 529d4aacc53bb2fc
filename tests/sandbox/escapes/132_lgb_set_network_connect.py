# (f) LightGBM's distributed mode opens sockets natively: Booster.set_network / machines= reach any host:port
# expect-error: PolicyViolation
import lightgbm as lgb
import numpy as np
b = lgb.train({"verbose": -1}, lgb.Dataset(np.random.rand(30, 2), np.random.rand(30)), num_boost_round=1)
b.set_network("127.0.0.1:{PORT}", local_listen_port=12400, listen_time_out=1, num_machines=2)
