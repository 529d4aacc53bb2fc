# savefig to an absolute path outside the workdir
import matplotlib.pyplot as plt
fig, ax = plt.subplots()
fig.savefig("{CANARY}", format="png")
