# string annotations are eval()'d unguarded by functools.singledispatch.register
import functools
@functools.singledispatch
def f(x):
    pass
@f.register
def _(x: "().__class__.__base__.__subclasses__()[0].__init__.__globals__['__builtins__']['open']('{CANARY}', 'w')"):
    pass
