# positional-only parameter named like a guard, shadowing _getattr_
def f(_getattr_, /):
    return ().__class__
print(f(getattr))
