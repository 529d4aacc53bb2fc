# expect: bars.png, report.txt
import matplotlib.pyplot as plt
import pandas as pd

df = pd.read_csv("input.csv")
means = df.groupby("city")["income"].mean().sort_values()
fig, ax = plt.subplots(figsize=(6, 3))
means.plot(kind="barh", ax=ax, color="steelblue")
ax.set_xlabel("mean income")
fig.tight_layout()
fig.savefig("bars.png", dpi=100)
lines = [f"{city:<8}{value:>12,.2f}" for city, value in means.items()]
header = f"{len(means)} cities, {len(df):d} rows"
with open("report.txt", "w") as f:
    f.write("\n".join([header] + lines))
print(header)
