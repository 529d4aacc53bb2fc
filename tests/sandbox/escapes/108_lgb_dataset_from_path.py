# (f) lgb.Dataset(PATH) and Booster(model_file=PATH) read files natively, outside any path guard
import lightgbm as lgb

d = lgb.Dataset("{CANARY}", params={"verbose": -1})
d.construct()
