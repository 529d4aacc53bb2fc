# from-import binds the function before the attribute guard could wrap it
from numpy import load
load("evil.npy", allow_pickle=True)
