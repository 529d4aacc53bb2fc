# (d)/(e) type() of an object the API returns (read_csv(chunksize=) -> TextFileReader) is a constructor the API never offered
# expect-error: PolicyViolation
import pandas as pd
pd.DataFrame({"a": [1]}).to_csv("x.csv", index=False)
r = pd.read_csv("x.csv", chunksize=1)
T = type(r)
print(T("{CANARY}", header=None).read())
