# __del__ firing later, after the guards are gone
class Bomb:
    def __del__(self):
        open("{CANARY}", "w").write("pwned")
keep = Bomb()
