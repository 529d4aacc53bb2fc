# (f) sklearn.tree.export_graphviz(out_file=PATH) writes any path
import numpy as np
from sklearn.tree import DecisionTreeClassifier, export_graphviz

t = DecisionTreeClassifier().fit(np.random.rand(10, 2), np.arange(10) % 2)
export_graphviz(t, out_file="{CANARY}.pwned.dot")
