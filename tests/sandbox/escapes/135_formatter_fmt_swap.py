# (c) a StrMethodFormatter built with a plain template, then its fmt attribute swapped for an attribute walk and called on a user object
# expect-error: PolicyViolation
import matplotlib.ticker as mticker
class A:
    def __init__(self):
        self.v = 1
f = mticker.StrMethodFormatter("{x}")
f.fmt = "{x.__init__.__globals__}"
print(f(A()))
