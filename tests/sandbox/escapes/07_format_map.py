# format_map with attribute access into globals
class A:
    pass
print("{a.__init__.__globals__}".format_map({"a": A()}))
