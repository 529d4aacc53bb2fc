# (f) the same aliases through the scikit-learn API: LGBMRegressor(nodes=..., num_machine=2, tree_learner_type=...)
# expect-error: PolicyViolation
import lightgbm as lgb
import numpy as np
model = lgb.LGBMRegressor(n_estimators=2, nodes="127.0.0.1:{PORT},127.0.0.1:12403", num_machine=2, tree_learner_type="data")
model.fit(np.random.rand(30, 2), np.random.rand(30))
