# (e) df.plot(backend=NAME) makes pandas import any installed module (the plotting.backend gadget without set_option)
import pandas as pd

pd.DataFrame({"a": [1, 2]}).plot(backend="this")
