# from __future__ import annotations turns every annotation into an eval()'d string
from __future__ import annotations
import functools
@functools.singledispatch
def f(x):
    pass
@f.register
def g(x: open):
    pass
