# (e) savefig(backend=NAME) imports the named module to find a canvas
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

fig = plt.figure()
fig.savefig("x.png", backend="module://this")
