# (e) pd.set_option("plotting.backend", NAME) runs importlib.import_module(NAME) for any installed module (outside the allowlist, executing its top level); driver sees the Zen of Python printed by importing `this`
# red team 2026-12-07, docs/redteam-2026-12-07/success_21_pd_plotting_backend_import.py.txt
import pandas as pd

pd.set_option("plotting.backend", "this")
