"""The delivered model: refit on training + holdout rows after the holdout is scored (default), or the model the
holdout scored (`--no-refit-full`). The reported holdout figures are the pre-refit ones either way."""

from __future__ import annotations

import json

import joblib
import numpy as np
import pandas as pd
import pytest

from pipeline.cli.main import main as cli_main
from pipeline.ml.metrics import classification_metrics

pytestmark = pytest.mark.slow  # the whole module runs real pipelines, apps or browsers


def _interactions(n: int = 600, seed: int = 3) -> pd.DataFrame:
    """A class that depends on an interaction (trees win, so the delivered model is a tree model), with noise."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(size=n)
    shop = rng.choice(["north", "south", "east"], n)
    signal = (a > 0) ^ (b > 0.3) ^ (shop == "east")
    flip = rng.random(n) < 0.15
    return pd.DataFrame(
        {
            "a": a.round(3),
            "b": b.round(3),
            "shop": shop,
            "noise": rng.normal(size=n).round(3),
            "churn": np.where(signal ^ flip, "yes", "no"),
        }
    )


def _run(tmp_path, name: str, *extra: str):
    data = tmp_path / "churn.csv"
    frame = _interactions()
    frame.to_csv(data, index=False)
    run_dir = tmp_path / name
    assert (
        cli_main(
            [
                "run",
                str(data),
                "--target",
                "churn",
                "--time-budget",
                "30",
                "--max-loops",
                "0",
                "--out",
                str(run_dir),
                "--store",
                str(tmp_path / "store.sqlite"),
                *extra,
            ]
        )
        == 0
    )
    return run_dir, json.loads((run_dir / "metrics.json").read_text()), frame


def _holdout_log_loss(model, run_dir) -> float:
    """The model's log loss on the run's holdout rows (raw columns in, as a user would score them)."""
    holdout_X = pd.read_parquet(run_dir / "data" / "holdout_X.parquet")
    actual = pd.read_csv(run_dir / "holdout_predictions.csv")["actual"].astype(str).to_numpy()
    proba = model.predict_proba_features(model.features(holdout_X))
    classes = np.asarray([str(c) for c in model.classes], dtype=object)
    return classification_metrics(actual, proba, classes)["log_loss"]


def test_delivered_model_learns_from_the_holdout_rows_after_they_are_scored(tmp_path):
    run_dir, metrics, frame = _run(tmp_path, "full")
    delivered = metrics["delivered"]
    assert (
        delivered["refit_on_all_rows"] and delivered["rows"] == len(frame) == metrics["n_train"] + metrics["n_holdout"]
    )
    recipe = joblib.load(run_dir / f"models/iter{metrics['selected_iteration']}.joblib")
    model = joblib.load(run_dir / "model.joblib")
    # the reported holdout score is the recipe's, measured before the refit (the delivered model has seen those rows)
    holdout = pd.read_csv(run_dir / "holdout_predictions.csv")
    proba = recipe.predict_proba_features(recipe.features(pd.read_parquet(run_dir / "data" / "holdout_X.parquet")))
    np.testing.assert_allclose(holdout[[f"proba_{c}" for c in recipe.classes]].to_numpy(), proba, atol=1e-9)
    # the delivered model was fitted on those rows: it fits them better than the recipe that never saw them
    assert _holdout_log_loss(model, run_dir) < 0.9 * _holdout_log_loss(recipe, run_dir)
    report = (run_dir / "report.md").read_text()
    assert f"refit on all {len(frame):,} rows" in report and "measured before the refit" in report
    spec = json.loads((run_dir / "export" / "training.json").read_text())
    assert spec["refit_full"] and spec["bags"] == delivered["bags"] == max(delivered["copies"])
    assert spec["copies"] == delivered["copies"] and len(delivered["copies"]) == len(spec["members"])


def test_no_refit_full_delivers_the_model_the_holdout_scored(tmp_path):
    run_dir, metrics, _ = _run(tmp_path, "plain", "--no-refit-full")
    assert not metrics["delivered"]["refit_on_all_rows"] and metrics["delivered"]["rows"] == metrics["n_train"]
    recipe = joblib.load(run_dir / f"models/iter{metrics['selected_iteration']}.joblib")
    model = joblib.load(run_dir / "model.joblib")
    assert _holdout_log_loss(model, run_dir) == _holdout_log_loss(recipe, run_dir)
    assert not json.loads((run_dir / "export" / "training.json").read_text())["refit_full"]
