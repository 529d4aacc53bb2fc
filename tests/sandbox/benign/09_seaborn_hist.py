# expect: hist.png
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

df = pd.read_csv("input.csv")
fig, ax = plt.subplots(figsize=(6, 4))
sns.histplot(df["income"], bins=20, ax=ax)
ax.set_title("Income")
fig.savefig("hist.png", dpi=150)
plt.close(fig)
