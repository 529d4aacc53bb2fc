# (f) numpy.fromregex is not in IO_ATTRS: reads any file; driver sees canary content in result
# red team 2026-12-07, docs/redteam-2026-12-07/success_09_np_fromregex_read.py.txt
import numpy as np

result = np.fromregex("{CANARY}", r"(.+)", dtype=[("a", "U100")])
print(result)
