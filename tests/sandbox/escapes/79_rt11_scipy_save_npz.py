# (f) scipy.sparse.save_npz is not path-guarded: writes any path; driver sees {CANARY}.pwned_sparse.npz created
# red team 2026-12-07, docs/redteam-2026-12-07/success_11_scipy_save_npz.py.txt
import scipy.sparse as sp

sp.save_npz("{CANARY}.pwned_sparse.npz", sp.eye(3, format="csr"))
