# except* (ExceptionGroup) handler binding
try:
    raise ExceptionGroup("g", [ValueError(1)])
except* ValueError as eg:
    print(eg.exceptions)
