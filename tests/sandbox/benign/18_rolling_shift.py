import pandas as pd

df = pd.read_csv("input.csv", parse_dates=["signup"])
df = df.sort_values("signup")
df["income_roll3"] = df["income"].rolling(3, min_periods=1).mean()
df["income_prev"] = df["income"].shift(1)
df["cum_churn"] = df["churn"].cumsum()
monthly = df.set_index("signup").resample("MS")["income"].sum()
print(monthly.head())
