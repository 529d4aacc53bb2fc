# (c) seaborn set_titles with a template walking a facet value's __init__.__globals__ (any Python object leads to modules)
import matplotlib

matplotlib.use("Agg")
import pandas as pd
import seaborn as sns

df = pd.DataFrame({"v": [1.0], "c": ["x"]})
g = sns.FacetGrid(df, col="c")
g.set_titles("{col_name.__class__.__init__.__globals__}")
print([ax.get_title() for ax in g.axes.flat])
