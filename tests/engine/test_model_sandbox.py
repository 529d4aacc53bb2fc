"""A saved model runs its generated feature code in the process sandbox, whoever loads it: never in the caller.

`model.joblib` is what an export's predict.py, serve.py and train.py load, and what anyone's own code may load:
TabularModel.features must hand the feature code to a sandboxed child (its own workdir, environment and
language layer), not run it in the loading process.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

import sandbox
from pipeline.ml.runtime import FeatureCodeError, TabularModel

WRITES_IN_ITS_WORKDIR = """
def transform(df):
    with open("probe.txt", "w") as fh:
        fh.write("written by feature code")
    out = df.copy()
    out["double"] = out["x"] * 2
    return out
"""

READS_THE_ENVIRONMENT = """
import os
def transform(df):
    out = df.copy()
    out["leak"] = os.environ.get("MLP_TEST_SECRET", "none")
    return out
"""


def _model(code: str, tmp_path: Path) -> TabularModel:
    X = pd.DataFrame({"x": np.arange(20.0), "double": np.arange(20.0) * 2})
    model = TabularModel(
        feature_code=code,
        pipeline=LinearRegression().fit(X, X["x"] * 3),
        task="regression",
        target="y",
        raw_columns=["x"],
        required_columns=["x"],
        raw_dtypes={"x": "float64"},
    )
    joblib.dump(model, tmp_path / "model.joblib")
    return joblib.load(tmp_path / "model.joblib")  # as anyone's own code would get it


def _leftovers() -> set[str]:
    return {p for p in os.listdir(tempfile.gettempdir()) if p.startswith("mlp-features-")}


def test_loaded_model_runs_feature_code_in_a_disposable_sandbox_workdir(tmp_path, monkeypatch):
    """The code may write in its own workdir (the language layer alone would refuse any file): the prediction
    works, and nothing it wrote reaches the caller's folder or outlives the call."""
    monkeypatch.chdir(tmp_path)
    before = _leftovers()
    model = _model(WRITES_IN_ITS_WORKDIR, tmp_path)
    predictions = model.predict(pd.DataFrame({"x": [1.0, 2.0, 5.0]}))
    assert np.allclose(predictions, [3.0, 6.0, 15.0])
    assert not (tmp_path / "probe.txt").exists()
    assert _leftovers() == before


def test_loaded_model_does_not_depend_on_the_callers_language_layer(tmp_path, monkeypatch):
    """Switch the language layer off in this process: the feature code still meets it (and the OS layers) in
    the child, so the caller's secret is in no result; in-process execution would have copied it into a column."""
    secret = "s3cr3t-in-the-serving-host"
    monkeypatch.setenv("MLP_TEST_SECRET", secret)
    monkeypatch.setattr(sandbox.policy, "_compile", lambda code: (compile(code, "<user>", "exec"), []))
    monkeypatch.setattr(sandbox.policy, "make_globals", lambda workdir=None: {"__builtins__": __builtins__})
    model = _model(READS_THE_ENVIRONMENT, tmp_path)
    with pytest.raises(FeatureCodeError) as failure:
        model.features(pd.DataFrame({"x": [1.0]}))
    assert secret not in str(failure.value)
    assert "import" in str(failure.value) or "os" in str(failure.value)


def test_a_text_column_holding_numbers_too_still_scores(tmp_path):
    """JSON records and spreadsheets give text columns with numbers in them: they reach the feature code as text
    (as a CSV would have), not as a Parquet error."""
    code = (
        "def transform(df):\n    out = df.copy()\n    out['long'] = out['city'].astype(str).str.len()\n    return out\n"
    )
    X = pd.DataFrame({"city": ["Paris", "Rome", "Oslo"], "long": [5.0, 4.0, 4.0]})
    model = TabularModel(
        feature_code=code,
        pipeline=LinearRegression().fit(X[["long"]], [10.0, 8.0, 8.0]),
        task="regression",
        target="y",
        raw_columns=["city"],
        required_columns=["city"],
        raw_dtypes={"city": "object"},
    )
    mixed = pd.DataFrame({"city": ["Paris", 12345, None]}, dtype=object)
    features = model.features(mixed)
    assert features["long"].tolist()[:2] == [5, 5]


def test_a_warm_model_serves_through_its_own_sandbox_worker(tmp_path, monkeypatch):
    """serve.py warms its model: calls then go to the model's own worker, a fresh sandboxed process per call. The
    predictions are the cold path's; the caller's secret, folder and language layer stay out of it."""
    secret = "s3cr3t-of-the-server"
    monkeypatch.setenv("MLP_TEST_SECRET", secret)
    monkeypatch.chdir(tmp_path)
    model = _model(WRITES_IN_ITS_WORKDIR, tmp_path)
    rows = pd.DataFrame({"x": [1.0, 2.0, 5.0]})
    cold = model.prediction_frame(model.features(rows))
    try:
        layers = model.warm()
        assert layers.startswith("worker") and "audithook" in layers
        assert model.warm() == layers  # idempotent: one worker per model
        for _ in range(3):
            pd.testing.assert_frame_equal(model.prediction_frame(model.features(rows)), cold)
        assert not (tmp_path / "probe.txt").exists()
        assert "_worker" not in joblib.load(_dump(model, tmp_path)).__dict__  # a saved copy starts its own
    finally:
        model.close()
    # switched off here, the language layer still meets the code in the worker's spares
    monkeypatch.setattr(sandbox.policy, "_compile", lambda code: (compile(code, "<user>", "exec"), []))
    monkeypatch.setattr(sandbox.policy, "check", lambda code: sandbox.CheckResult(ok=True))
    leaky = _model(READS_THE_ENVIRONMENT, tmp_path)
    with pytest.raises(FeatureCodeError) as failure:
        leaky.warm()
        leaky.features(pd.DataFrame({"x": [1.0]}))
    leaky.close()
    assert secret not in str(failure.value)


def _dump(model: TabularModel, tmp_path: Path) -> Path:
    path = tmp_path / "copy.joblib"
    joblib.dump(model, path)
    return path
