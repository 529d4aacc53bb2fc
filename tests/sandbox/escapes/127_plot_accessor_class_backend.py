# (e) the accessor built from the class: DataFrame.plot(df)(backend=NAME) / pandas.plotting functions' backend=
# expect-error: PolicyViolation
import pandas as pd
df = pd.DataFrame({"a": [1, 2]})
acc = pd.DataFrame.plot(df)
acc(backend="this")
