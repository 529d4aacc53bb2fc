# from x import * to pull private names
from pandas.compat import *
print(os)
