# pathlib.Path re-exported by pandas internals
import pandas as pd
print(pd.io.common.Path("/etc/passwd").read_text())
