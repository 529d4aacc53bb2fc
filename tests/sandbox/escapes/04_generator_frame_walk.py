# generator frame walk: gi_frame.f_back.f_globals
def gen():
    yield 1
g = gen()
fr = g.gi_frame.f_back
print(fr.f_globals)
