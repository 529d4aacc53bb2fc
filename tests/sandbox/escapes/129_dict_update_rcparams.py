# (e) dict.update(rcParams, ...) writes into the dict storage of RcParams, skipping its checked __setitem__: backend -> import
# expect-error: PolicyViolation
import matplotlib
dict.update(matplotlib.rcParams, {"backend": "module://this"})
import matplotlib.pyplot as plt
plt.figure()
