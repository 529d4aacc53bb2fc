# expect: pivot.csv, merged.csv
import pandas as pd

df = pd.read_csv("input.csv")
cities = pd.DataFrame(
    {"city": ["Oslo", "Lyon", "Porto", "Bonn"], "country": ["NO", "FR", "PT", "DE"], "pop_k": [700, 520, 230, 330]}
)
m = df.merge(cities, on="city", how="left", validate="many_to_one")
stats = df.groupby("city", as_index=False)["income"].mean().rename(columns={"income": "city_income"})
m = pd.merge(m, stats, on="city", how="inner")
m["income_vs_city"] = m["income"] / m["city_income"]
pv = pd.pivot_table(m, index="country", columns="churn", values="income", aggfunc=["mean", "count"], fill_value=0)
pv.columns = [f"{a}_{b}" for a, b in pv.columns]
ct = pd.crosstab(m["country"], m["churn"], normalize="index")
long = ct.reset_index().melt(id_vars="country", var_name="churn", value_name="share")
wide = long.pivot(index="country", columns="churn", values="share")
assert wide.shape == ct.shape
pv.to_csv("pivot.csv")
m.to_csv("merged.csv", index=False)
