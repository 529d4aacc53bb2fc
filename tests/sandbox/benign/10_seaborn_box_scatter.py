# expect: box.png, scatter.png
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

df = pd.read_csv("input.csv")
fig, ax = plt.subplots()
sns.boxplot(data=df, x="city", y="income", ax=ax)
fig.savefig("box.png", dpi=100)
fig2, ax2 = plt.subplots()
sns.scatterplot(data=df, x="age", y="income", hue="churn", ax=ax2)
fig2.tight_layout()
fig2.savefig("scatter.png")
plt.close("all")
