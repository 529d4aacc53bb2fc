# expect: strings.csv
import re

import pandas as pd

df = pd.read_csv("input.csv")
df["city_upper"] = df["city"].str.upper()
df["city_len"] = df["city"].str.len()
df["has_o"] = df["city"].str.contains("o", case=False)
df["first2"] = df["city"].str[:2]
df["label"] = df["city"].str.cat(df["churn"].astype(str), sep="-")
df["slug"] = df["label"].str.replace(r"[^a-z0-9]+", "_", regex=True, flags=re.I).str.lower()
parts = df["signup"].str.split("-", expand=True)
df["year_str"] = parts[0]
df["initial"] = df["city"].map(lambda s: s[0])
df["code"] = df["city"].str.extract(r"^(\w{3})", expand=False)
df["padded"] = df["id"].astype(str).str.zfill(5)
df["city_title"] = df["city"].apply(str.title)
df.to_csv("strings.csv", index=False)
