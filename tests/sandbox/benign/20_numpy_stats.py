import math
import statistics

import numpy as np

rng = np.random.default_rng(0)
a = rng.normal(size=(200, 3))
cov = np.cov(a, rowvar=False)
q = np.quantile(a[:, 0], [0.1, 0.5, 0.9])
b = a.copy()
b[b < 0] = 0
b[:, 1] += 1
print(cov.shape, q.round(2), statistics.mean([1, 2, 3]), math.sqrt(16), b.mean().round(3))
