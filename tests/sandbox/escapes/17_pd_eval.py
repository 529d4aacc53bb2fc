# pd.eval evaluating a string
import pandas as pd
print(pd.eval("__import__('os').system('touch {CANARY}')"))
