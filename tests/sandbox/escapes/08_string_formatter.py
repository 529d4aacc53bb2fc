# string.Formatter().get_field walks attributes without the guard
import string
print(string.Formatter().get_field("0.__class__", [()], {}))
