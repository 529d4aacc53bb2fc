# expect: linalg.json
import json

import numpy as np

rng = np.random.default_rng(0)
A = rng.normal(size=(50, 3))
beta = np.array([1.5, -2.0, 0.5])
b = A @ beta + rng.normal(scale=0.01, size=50)
coef, res, rank, sv = np.linalg.lstsq(A, b, rcond=None)
M = A.T @ A
x = np.linalg.solve(M, A.T @ b)
U, S, Vt = np.linalg.svd(A, full_matrices=False)
inv = np.linalg.inv(M)
det = np.linalg.det(M)
w, v = np.linalg.eigh(M)
q, r = np.linalg.qr(A)
ok = np.allclose(coef, x) and np.allclose(U @ np.diag(S) @ Vt, A) and np.allclose(q @ r, A)
with open("linalg.json", "w") as fh:
    json.dump(
        {
            "coef": coef.round(3).tolist(),
            "rank": int(rank),
            "ok": bool(ok),
            "cond": float(np.linalg.cond(M)),
            "det": float(det),
            "eig": w.round(3).tolist(),
            "norm": float(np.linalg.norm(inv)),
        },
        fh,
    )
