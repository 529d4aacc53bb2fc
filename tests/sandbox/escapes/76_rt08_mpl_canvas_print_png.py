# (f) FigureCanvas.print_png/print_figure are not in IO_ATTRS: writes any path; driver sees {CANARY}.pwned.png created
# red team 2026-12-07, docs/redteam-2026-12-07/success_08_mpl_canvas_print_png.py.txt
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

fig = plt.figure()
fig.canvas.print_png("{CANARY}.pwned.png")
