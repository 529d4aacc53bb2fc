# (c) DataFrame.to_latex(formatters={col: TEMPLATE}) goes through Styler.format, which str.format()s the template over each cell
# expect-error: PolicyViolation
import pandas as pd
class A:
    def __init__(self):
        self.v = 1
df = pd.DataFrame({"a": [A()]})
print(df.to_latex(formatters={"a": "{0.__init__.__globals__}"}))
