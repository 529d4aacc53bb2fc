# typing.get_type_hints evaluates annotation strings
import typing
def f(x: int):
    pass
print(typing.get_type_hints(f))
