# expect: mpl_grid.png
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd

df = pd.read_csv("input.csv", parse_dates=["signup"])
fig, axes = plt.subplots(2, 2, figsize=(8, 6))
axes[0, 0].hist(df["age"], bins=15, color="steelblue")
axes[0, 1].scatter(df["age"], df["income"], c=df["churn"], cmap="coolwarm", s=10)
axes[0, 1].yaxis.set_major_formatter(mticker.StrMethodFormatter("{x:,.0f}"))
monthly = df.set_index("signup")["income"].resample("MS").mean()
axes[1, 0].plot(monthly.index, monthly.values, marker="o")
axes[1, 0].tick_params(axis="x", rotation=45)
counts = df["city"].value_counts()
axes[1, 1].bar(counts.index, counts.values)
axes[1, 1].set_ylim(0, np.max(counts.values) * 1.2)
for ax, t in zip(axes.flat, ["age", "age vs income", "monthly income", "cities"]):
    ax.set_title(t)
fig.suptitle("Overview")
fig.tight_layout()
fig.savefig("mpl_grid.png", dpi=72)
