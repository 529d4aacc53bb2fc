# (a) sklearn.utils.deprecated()(cls) does plain setattr(cls, "__new__", ...) on a library class, bypassing the write guard (process-wide poisoning of pandas.DataFrame); driver sees result == ["Class DataFrame is deprecated; poisoned"]
# red team 2026-12-07, docs/redteam-2026-12-07/success_31_sklearn_deprecated_poisons_class.py.txt
import pandas as pd
from sklearn.utils import deprecated

deprecated("poisoned")(pd.DataFrame)
import warnings

with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    pd.DataFrame()
    result = [str(x.message) for x in w]
