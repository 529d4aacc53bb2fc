# (b) seaborn hands estimator="NAME" to Series.agg inside the library: any method by name (to_clipboard runs a subprocess)
# expect-error: PolicyViolation
import pandas as pd
import seaborn as sns
df = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})
sns.barplot(data=df, x="b", y="a", estimator="to_clipboard")
