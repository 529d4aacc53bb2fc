# (e) scipy.sparse native kernels trust indices/indptr: an index array edited after construction (or built out of range) reads and writes outside the buffers (memory corruption)
# expect-error: ValueError, PolicyViolation
import numpy as np
import scipy.sparse as sp
m = sp.csr_matrix((np.array([1.0]), np.array([0]), np.array([0, 1])), shape=(1, 2))
idx = m.indices
idx[0] = 10**7
print(m @ np.ones(2))
