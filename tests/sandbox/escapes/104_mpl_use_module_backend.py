# (e) matplotlib.use("module://NAME") and rcParams["backend"] make pyplot import any module
import matplotlib

matplotlib.rcParams["backend"] = "module://this"
import matplotlib.pyplot as plt

plt.figure()
