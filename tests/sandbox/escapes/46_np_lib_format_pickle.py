# numpy.lib.format.read_array(allow_pickle=True)
from numpy.lib import format as fmt
with open("x.npy", "rb") as f:
    fmt.read_array(f, allow_pickle=True)
