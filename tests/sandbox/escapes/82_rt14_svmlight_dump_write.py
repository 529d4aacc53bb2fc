# (f) sklearn.datasets.dump_svmlight_file writes any path; driver sees {CANARY}.pwned.svm created
# red team 2026-12-07, docs/redteam-2026-12-07/success_14_svmlight_dump_write.py.txt
import numpy as np
from sklearn.datasets import dump_svmlight_file

dump_svmlight_file(np.eye(2), np.array([0, 1]), "{CANARY}.pwned.svm")
