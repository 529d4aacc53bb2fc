# ctypes to call libc system()
import ctypes
ctypes.CDLL(None).system(b"touch {CANARY}")
