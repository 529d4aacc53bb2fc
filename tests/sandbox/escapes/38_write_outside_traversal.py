# write outside the workdir via ../ traversal with to_csv
import pandas as pd
pd.DataFrame({"a": [1]}).to_csv("../" * 30 + "{CANARY_REL}")
