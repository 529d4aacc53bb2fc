# memory bomb through numpy
# expect-error: MemoryError
import numpy as np
a = np.ones((100000, 100000))
print(a.sum())
