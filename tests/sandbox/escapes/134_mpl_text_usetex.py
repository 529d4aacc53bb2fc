# (f) Text(usetex=True) runs LaTeX on user text (\input reads any file into the rendering)
# expect-error: PolicyViolation
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
fig, ax = plt.subplots()
ax.text(0.5, 0.5, r"\input{{CANARY}}", usetex=True)
fig.savefig("t.png")
