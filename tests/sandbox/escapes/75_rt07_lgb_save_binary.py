# (f) lightgbm Dataset.save_binary is not in IO_ATTRS: native write to any path; driver sees {CANARY}.pwned_lgb.bin created
# red team 2026-12-07, docs/redteam-2026-12-07/success_07_lgb_save_binary.py.txt
import lightgbm as lgb
import numpy as np

d = lgb.Dataset(np.random.rand(50, 3), np.random.rand(50), params={"verbose": -1})
d.save_binary("{CANARY}.pwned_lgb.bin")
