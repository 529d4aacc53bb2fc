# lightgbm's ctypes handle to libc-like functions
import lightgbm
print(lightgbm.basic._LIB)
