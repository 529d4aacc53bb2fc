"""The final refit fits the time the run has left: all rows when it can, a uniform sample sized to fit when not."""
from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.phases.trainer import REFIT_FLOOR_S, _refit_rows


def _xy(n: int) -> tuple[pd.DataFrame, pd.Series]:
    X = pd.DataFrame({"a": np.arange(n), "b": np.arange(n) % 7})
    return X, pd.Series(np.arange(n) * 10)


def test_all_rows_when_the_refit_fits_or_is_short_anyway():
    X, y = _xy(10_000)
    assert len(_refit_rows(X, y, cost=20.0, seconds_left=25.0, min_rows=2_000, seed=0)[0]) == 10_000
    assert len(_refit_rows(X, y, cost=REFIT_FLOOR_S, seconds_left=0.0, min_rows=2_000, seed=0)[0]) == 10_000


def test_a_sample_sized_to_the_time_left_never_below_the_screening_rows():
    X, y = _xy(10_000)
    Xr, yr = _refit_rows(X, y, cost=40.0, seconds_left=20.0, min_rows=2_000, seed=0)
    assert len(Xr) == 5_000
    assert (yr.to_numpy() == Xr["a"].to_numpy() * 10).all()       # rows and labels stay paired
    assert Xr["a"].is_unique and Xr["a"].is_monotonic_increasing  # a uniform sample in the original order
    assert Xr["a"].max() > 9_000 and Xr["a"].min() < 1_000          # spread over the whole table
    assert len(_refit_rows(X, y, cost=400.0, seconds_left=-5.0, min_rows=2_000, seed=0)[0]) == 2_000
