import pandas as pd

df = pd.read_csv("input.csv")
df["signup"] = pd.to_datetime(df["signup"])
df["year"] = df["signup"].dt.year
df["month"] = df["signup"].dt.month
df["dow"] = df["signup"].dt.dayofweek
df["days_since"] = (pd.Timestamp("2025-01-01") - df["signup"]).dt.days
print(df[["year", "month", "dow", "days_since"]].head())
