# (f) pandas.io.stata.StataWriter (engine behind to_stata) is not path-guarded; driver sees {CANARY}.pwned.dta created
# red team 2026-12-07, docs/redteam-2026-12-07/success_32_stata_writer_write.py.txt
import pandas as pd

w = pd.io.stata.StataWriter("{CANARY}.pwned.dta", pd.DataFrame({"a": [1.0]}))
w.write_file()
