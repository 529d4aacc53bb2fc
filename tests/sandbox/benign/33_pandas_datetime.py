# expect: dates.csv
import pandas as pd

df = pd.read_csv("input.csv")
d = pd.to_datetime(df["signup"], format="%Y-%m-%d")
df["year"] = d.dt.year
df["month"] = d.dt.month
df["dow"] = d.dt.dayofweek
df["is_weekend"] = d.dt.dayofweek >= 5
df["quarter"] = d.dt.quarter
df["days_since"] = (pd.Timestamp("2022-06-01") - d).dt.days
df["month_start"] = d.dt.to_period("M").dt.to_timestamp()
df["week"] = d.dt.isocalendar().week.astype(int)
df["next_month"] = d + pd.DateOffset(months=1)
df["eom"] = d + pd.offsets.MonthEnd(0)
df["signup_str"] = d.dt.strftime("%d/%m/%Y")
weekly = df.set_index(d).resample("W")["income"].sum()
df["rolling_30d"] = df.set_index(d)["income"].rolling("30D").mean().to_numpy()
assert len(weekly) > 0
df.to_csv("dates.csv", index=False)
