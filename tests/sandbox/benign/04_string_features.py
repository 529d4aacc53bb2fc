import pandas as pd

df = pd.read_csv("input.csv")
df["city_upper"] = df["city"].str.upper()
df["city_len"] = df["city"].str.len()
df["city_first"] = df["city"].str[0]
df["has_o"] = df["city"].str.contains("o").astype(int)
print(df["city_upper"].value_counts().to_dict())
