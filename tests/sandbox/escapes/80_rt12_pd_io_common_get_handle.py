# (e)/(f) pandas.io.common.get_handle (pandas function, not path-guarded) opens any file; driver sees canary content in result
# red team 2026-12-07, docs/redteam-2026-12-07/success_12_pd_io_common_get_handle.py.txt
import pandas as pd

h = pd.io.common.get_handle("{CANARY}", "r")
result = h.handle.read()
print(result)
