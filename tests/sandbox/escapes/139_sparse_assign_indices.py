# (e) assigning a new index array (or a shorter data array) to a sparse matrix skips every structure check
# expect-error: PolicyViolation
import numpy as np
import scipy.sparse as sp
m = sp.csr_matrix(np.eye(2))
m.indices = np.array([10**7, 0], dtype=np.int32)
print(m @ np.ones(2))
