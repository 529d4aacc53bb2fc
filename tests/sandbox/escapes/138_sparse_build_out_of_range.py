# (e) a CSR matrix built directly from out-of-range (data, indices, indptr): matvec reads outside the vector
# expect-error: PolicyViolation, ValueError
import numpy as np
import scipy.sparse as sp
m = sp.csr_matrix((np.array([1.0]), np.array([10**7]), np.array([0, 1])), shape=(1, 2))
print(m @ np.ones(2))
