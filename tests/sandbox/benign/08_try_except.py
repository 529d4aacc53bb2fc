import pandas as pd

df = pd.read_csv("input.csv")
try:
    df["missing_col"]
except KeyError as e:
    print("no such column", e)
try:
    x = 1 / 0
except ZeroDivisionError:
    x = float("nan")
finally:
    print("done", x)
