# dunder names rebuilt from chr() and getattr with the computed name
name = chr(95) * 2 + "class" + chr(95) * 2
base = getattr(getattr((), name), chr(95) * 2 + "base" + chr(95) * 2)
subs = getattr(base, "".join(["_", "_subclasses", "_", "_"]))()
print(len(subs))
