# reach builtins through an allowed module's attribute
import functools
print(functools.reduce.__self__)
import collections
print(collections.abc.sys)
