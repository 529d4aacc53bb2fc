# (e) pd.options.plotting.backend = NAME: the option write through the options object, then a plot imports NAME
import pandas as pd

pd.options.plotting.backend = "this"
pd.DataFrame({"a": [1, 2]}).plot()
