# (b) named aggregation: the function name inside ("col", NAME) is getattr'ed by pandas
import pandas as pd

df = pd.DataFrame({"a": [1, 2], "b": [1, 1]})
df.groupby("b").agg(x=("a", "to_csv"))
