# (b) pd.pivot_table / DataFrame.pivot_table(aggfunc="NAME") dispatch by name inside pandas
# expect-error: PolicyViolation
import pandas as pd
df = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})
pd.pivot_table(df, index="b", values="a", aggfunc="to_pickle")
