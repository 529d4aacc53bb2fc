# (e) rcParams.update({"backend": ...}) / sns.set_theme(rc=...): the same backend write through a helper
import seaborn as sns

sns.set_theme(rc={"backend": "module://this"})
import matplotlib.pyplot as plt

plt.switch_backend("module://this")
