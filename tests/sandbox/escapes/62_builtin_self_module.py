# builtin functions carry the builtins module in __self__
m = getattr(len, "__se" + "lf__")
m.open("{CANARY}", "w").write("pwned")
