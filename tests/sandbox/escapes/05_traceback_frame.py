# traceback -> frame -> globals via a caught exception
try:
    1 / 0
except Exception as e:
    tb = getattr(e, "__trace" + "back__")
    print(getattr(tb, "tb_" + "frame").f_globals)
