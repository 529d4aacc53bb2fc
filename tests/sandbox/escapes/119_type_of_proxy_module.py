# (d)/(e) type() of a sandboxed module, and module objects handed to library code that getattr()s them
import numpy as np
import pandas as pd

s = pd.Series([np])
print(s.apply(lambda m: type(m)))
print(getattr(np, "lib"))
