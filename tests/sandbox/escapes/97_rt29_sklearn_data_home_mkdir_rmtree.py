# (f) sklearn.datasets.get_data_home makes any directory, clear_data_home shutil.rmtree()s any directory; driver sees {CANARY}.pwned_dir created and planted /tmp/redteam/outside/victimdir deleted
# red team 2026-12-07, docs/redteam-2026-12-07/success_29_sklearn_data_home_mkdir_rmtree.py.txt
from sklearn.datasets import get_data_home, clear_data_home

get_data_home("{CANARY}.pwned_dir")
clear_data_home("{CANARY}.pwned_dir2")
