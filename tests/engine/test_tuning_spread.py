"""A search that stops finding better parameters hands its time to the other families, which join the blend tuned."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.engine.execute import execute
from pipeline.engine.prepare import prepare
from pipeline.phases.trainer_tune import MIN_PATIENCE
from pipeline.run.store import RunStore
from pipeline.state import RunConfig

pytestmark = pytest.mark.slow  # real runs of the pipeline


def _linear_table(n: int = 600, seed: int = 5) -> pd.DataFrame:
    """A class that is a noisy straight-line function of three numbers: a one-parameter linear model is the best
    family, and its search (C alone) runs out of better values long before the budget."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    logit = X @ np.array([1.2, -0.8, 0.5])
    y = rng.random(n) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "bought": np.where(y, "yes", "no")})


def test_a_saturated_search_leaves_its_time_to_the_other_families(tmp_path):
    data = tmp_path / "buy.csv"
    _linear_table().to_csv(data, index=False)
    config = RunConfig(data_path=str(data), target="bought", time_budget_s=30, max_loops=0)
    state = execute(prepare(config), tmp_path / "run", RunStore(tmp_path / "store.sqlite"))
    assert state.status == "finished", state.error
    trials = state.training.trials
    first = trials[0]["family"]
    stopped = [n for n in state.notes if n.startswith(f"Optuna tuned {first}:") and "without a better score" in n]
    assert stopped, state.notes  # the best family's search ended by its patience, not by the clock
    assert sum(1 for t in trials if t["family"] == first) >= MIN_PATIENCE
    # the time it left was spent on other families' searches in the same trainer run
    assert {t["family"] for t in trials} - {first}
