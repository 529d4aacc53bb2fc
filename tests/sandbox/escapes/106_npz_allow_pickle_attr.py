# (f) np.load(npz) is forced to allow_pickle=False, but NpzFile.allow_pickle is a plain attribute: set it, then unpickle
import numpy as np

np.savez("a.npz", a=np.array([{"k": 1}], dtype=object))
z = np.load("a.npz")
z.allow_pickle = True
print(z["a"])
