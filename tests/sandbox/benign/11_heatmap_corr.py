# expect: corr.png
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

df = pd.read_csv("input.csv")
corr = df.select_dtypes("number").corr()
fig, ax = plt.subplots(figsize=(5, 5))
sns.heatmap(corr, annot=True, fmt=".2f", cmap="viridis", ax=ax)
fig.savefig("corr.png", dpi=80, bbox_inches="tight")
