# (a) func_globals dicts are ordinary dicts, so the write guard allows replacing globals of pandas' compiled modules (process-wide poisoning of pandas._libs.lib); driver sees result == 0 from the planted replacement
# red team 2026-12-07, docs/redteam-2026-12-07/success_24_cython_func_globals_write.py.txt
import pandas as pd

g = pd.api.types.infer_dtype.func_globals
g["getsizeof"] = lambda *a: 0
result = pd.api.types.infer_dtype.func_globals["getsizeof"]("x")
print(result)
