import re
from collections import Counter, defaultdict
from functools import reduce
from itertools import combinations

import pandas as pd

df = pd.read_csv("input.csv")
counts = Counter(df["city"])
by_city = defaultdict(list)
for city, age in zip(df["city"], df["age"]):
    by_city[city].append(age)
pairs = list(combinations(sorted(counts), 2))
total = reduce(lambda a, b: a + b, counts.values())
words = re.findall(r"[a-z]+", "Feature engineering, with regex!".lower())
print(counts.most_common(2), len(pairs), total, words)
