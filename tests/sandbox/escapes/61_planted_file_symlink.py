# the workdir holds "canary_link" -> a file outside (planted by the test): write through it
import pandas as pd
with open("canary_link", "w") as f:
    f.write("pwned")
pd.DataFrame({"a": [1]}).to_csv("canary_link")
