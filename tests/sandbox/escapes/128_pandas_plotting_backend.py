# (e) pandas.plotting.boxplot(..., backend=NAME) imports the named module
# expect-error: PolicyViolation
import pandas as pd
pd.plotting.boxplot(pd.DataFrame({"a": [1.0, 2.0]}), backend="this")
