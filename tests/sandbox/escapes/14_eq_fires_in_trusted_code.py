# __eq__ running inside trusted comparisons, reaching globals
class Liar:
    def __eq__(self, other):
        return getattr(other, "__globals__", True)
x = Liar()
print(x == 1)
