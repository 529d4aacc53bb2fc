# (f) ndarray.dump (pickle writer) is not in IO_ATTRS: writes any path; driver sees {CANARY}.pwned_dump.pkl created
# red team 2026-12-07, docs/redteam-2026-12-07/success_10_ndarray_dump_write.py.txt
import numpy as np

np.arange(3).dump("{CANARY}.pwned_dump.pkl")
