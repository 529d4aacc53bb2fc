# memory bomb through numpy
# layer: os (resource exhaustion: the kernel layers and limits stop it, not the language layer)
# expect-error: MemoryError
import numpy as np
a = np.ones((100000, 100000))
print(a.sum())
