# expect: bars.png, report.txt
import pandas as pd
import matplotlib.pyplot as plt
df = pd.read_csv("input.csv")
means = df.groupby("city")["income"].mean().sort_values()
fig, ax = plt.subplots(figsize=(6, 3))
means.plot(kind="barh", ax=ax, color="steelblue")
ax.set_xlabel("mean income")
fig.tight_layout()
fig.savefig("bars.png", dpi=100)
lines = ["{:<8}{:>12,.2f}".format(city, value) for city, value in means.items()]
header = "{n} cities, {rows:d} rows".format(n=len(means), rows=len(df))
with open("report.txt", "w") as f:
    f.write("\n".join([header] + lines))
print(header)
