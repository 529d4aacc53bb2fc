"""Honest sampling: on large tables the profile says it used a sample, how large, and how it was drawn."""

import numpy as np
import pandas as pd

from pipeline.phases.profiler import PROFILE_SAMPLE, profile_frame


def test_large_tables_are_profiled_on_a_stated_sample():
    n = PROFILE_SAMPLE + 20_000
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.choice(["x", "y", "z"], n)})
    y = pd.Series((X["a"] + rng.normal(0, 1, n) > 0).astype(int))
    profile = profile_frame(X, y, "y", "binary", seed=3)
    assert f"{PROFILE_SAMPLE:,}" in profile.sample_note and f"{n:,}" in profile.sample_note
    assert "uniform random sample" in profile.sample_note and "seed 3" in profile.sample_note
    assert profile.n_rows == n  # counts and missing values still cover every row
    assert sum(profile.class_balance.values()) == n


def test_small_tables_are_profiled_whole_without_a_note():
    X = pd.DataFrame({"a": np.arange(500.0)})
    y = pd.Series(np.arange(500) % 2)
    assert profile_frame(X, y, "y", "binary").sample_note == ""
