# (e)/(f) pandas.io.parsers.TextFileReader (the engine behind read_csv) is not path-guarded; driver sees canary content in result
# red team 2026-12-07, docs/redteam-2026-12-07/success_15_pd_textfilereader.py.txt
import pandas as pd

r = pd.io.parsers.TextFileReader("{CANARY}", header=None, delimiter="\t", engine="python")
result = r.read()
print(result)
