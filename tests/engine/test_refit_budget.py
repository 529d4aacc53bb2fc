"""The trainer's floors fit the time the run has left: the final refit (all rows when it can, a uniform sample
sized to fit when not) and the screening sample (below its usual floor on a wide table with little time)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.phases.trainer_refit import REFIT_FLOOR_S, refit_rows
from pipeline.phases.trainer_screen import SCREEN_FLOOR_ROWS, SCREEN_MIN_ROWS, screen_rows


def _xy(n: int) -> tuple[pd.DataFrame, pd.Series]:
    X = pd.DataFrame({"a": np.arange(n), "b": np.arange(n) % 7})
    return X, pd.Series(np.arange(n) * 10)


def test_all_rows_when_the_refit_fits_or_is_short_anyway():
    X, y = _xy(10_000)
    assert len(refit_rows(X, y, cost=20.0, seconds_left=25.0, min_rows=2_000, seed=0)[0]) == 10_000
    assert len(refit_rows(X, y, cost=REFIT_FLOOR_S, seconds_left=0.0, min_rows=2_000, seed=0)[0]) == 10_000


def test_a_sample_sized_to_the_time_left_never_below_the_screening_rows():
    X, y = _xy(10_000)
    Xr, yr = refit_rows(X, y, cost=40.0, seconds_left=20.0, min_rows=2_000, seed=0)
    assert len(Xr) == 5_000
    assert (yr.to_numpy() == Xr["a"].to_numpy() * 10).all()  # rows and labels stay paired
    assert Xr["a"].is_unique and Xr["a"].is_monotonic_increasing  # a uniform sample in the original order
    assert Xr["a"].max() > 9_000 and Xr["a"].min() < 1_000  # spread over the whole table
    assert len(refit_rows(X, y, cost=400.0, seconds_left=-5.0, min_rows=2_000, seed=0)[0]) == 2_000


FAMILIES = ["lightgbm", "linear", "hist_gb"]


def test_screening_keeps_its_usual_floor_when_the_run_has_time():
    # 1.2 ms per row of quick CV: a wide table. The trainer's share affords fewer than 5,000 rows, the run does.
    assert (
        screen_rows(16_000, budget=8.0, quick_cost=1.2e-3, families=FAMILIES, folds=3, run_left=600.0)
        == SCREEN_MIN_ROWS
    )
    assert screen_rows(16_000, budget=8.0, quick_cost=1.2e-3, families=FAMILIES, folds=3) == SCREEN_MIN_ROWS


def test_screening_goes_below_its_floor_when_the_first_family_would_overrun_the_run():
    rows = screen_rows(16_000, budget=8.0, quick_cost=1.2e-3, families=FAMILIES, folds=3, run_left=10.0)
    first_family_cv = 1.2e-3 * 1.1 * rows  # the first family's screening CV on those rows (3 folds)
    assert SCREEN_FLOOR_ROWS <= rows < SCREEN_MIN_ROWS and first_family_cv <= 0.5 * 10.0 + 1e-9
    assert (
        screen_rows(16_000, budget=1.0, quick_cost=1.0, families=FAMILIES, folds=3, run_left=1.0) == SCREEN_FLOOR_ROWS
    )
    assert screen_rows(600, budget=1.0, quick_cost=1.0, families=FAMILIES, folds=3, run_left=1.0) == 600
