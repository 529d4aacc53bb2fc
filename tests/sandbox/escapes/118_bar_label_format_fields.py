# (c) Axes.bar_label(fmt=TEMPLATE) formats values with str.format: attribute fields
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

fig, ax = plt.subplots()
bars = ax.bar([0, 1], [1, 2])
print(ax.bar_label(bars, fmt="{x.__class__}"))
