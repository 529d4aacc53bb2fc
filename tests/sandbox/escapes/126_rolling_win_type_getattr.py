# (b) rolling(win_type=NAME) is getattr(scipy.signal.windows, NAME) inside pandas
# expect-error: PolicyViolation
import pandas as pd
print(pd.Series([1.0, 2.0, 3.0]).rolling(2, win_type="np").sum())
