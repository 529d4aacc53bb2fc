# build a class with a __del__ through 3-arg type()
def boom(self):
    open("{CANARY}", "w").write("pwned")
T = type("T", (), {"__del__": boom})
t = T()
