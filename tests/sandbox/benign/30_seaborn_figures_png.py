# expect: sns_violin.png, sns_pair.png, sns_count.png
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

df = pd.read_csv("input.csv")
sns.set_theme(style="whitegrid", rc={"axes.titlesize": 10})
fig, ax = plt.subplots(figsize=(5, 3))
sns.violinplot(data=df, x="city", y="income", hue="churn", split=True, ax=ax)
ax.set_title("Income by city")
fig.tight_layout()
fig.savefig("sns_violin.png", dpi=72)
plt.close(fig)
g = sns.pairplot(df[["age", "income", "churn"]], hue="churn", height=1.6)
g.savefig("sns_pair.png", dpi=60)
fig, ax = plt.subplots()
sns.countplot(data=df, x="city", ax=ax)
ax.bar_label(ax.containers[0], fmt="{:.0f}")
plt.savefig("sns_count.png", dpi=72)
plt.close("all")
