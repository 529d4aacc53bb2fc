"""Target leakage: a column recorded after the outcome is flagged, excluded by default, and kept only on request.

Real tables (scikit-learn's bundled ones) with a planted post-outcome column: the target with 5 % of its labels
flipped, under an innocent name. The old single-column rule (CV >= 0.99) misses it, since it is right on only 95 %
of the rows.
"""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn import datasets

from pipeline.cli.main import main
from pipeline.engine.execute import execute
from pipeline.engine.prepare import prepare
from pipeline.ml.leak_notes import kept_in_feedback
from pipeline.ml.leakage import find_leaks
from pipeline.phases.profiler import profile_frame
from pipeline.run.store import RunStore
from pipeline.state import RunConfig

PLANT = "review_code"


def _table(name: str) -> tuple[pd.DataFrame, str]:
    loader = {
        "breast_cancer": datasets.load_breast_cancer,
        "digits": datasets.load_digits,
        "diabetes": datasets.load_diabetes,
        "iris": datasets.load_iris,
        "wine": datasets.load_wine,
    }[name]
    return loader(as_frame=True).frame, "target"


def _planted(frame: pd.DataFrame, target: str, regression: bool = False, seed: int = 0) -> pd.DataFrame:
    """The target with 5 % of its values changed (labels flipped to another class, numbers swapped for another
    row's), under an innocent name."""
    rng = np.random.default_rng(seed)
    y = frame[target].to_numpy()
    flip = rng.random(len(y)) < 0.05
    leak = y.astype(float).copy() if regression else y.copy()
    classes = np.unique(y)
    for i in np.flatnonzero(flip):
        leak[i] = rng.choice(y) if regression else rng.choice(classes[classes != y[i]])
    out = frame.copy()
    out.insert(3, PLANT, leak)
    return out


def _profile(frame: pd.DataFrame, target: str, task: str, seed: int = 0):
    """The profile of a table's training part (80 %, as a run would split it)."""
    rows = np.random.default_rng(seed).permutation(len(frame))[: int(0.8 * len(frame))]
    part = frame.iloc[np.sort(rows)].reset_index(drop=True)
    return profile_frame(part.drop(columns=[target]), part[target], target, task, seed)


def _run(frame: pd.DataFrame, tmp_path: Path, target: str, **config) -> tuple[object, Path]:
    path = tmp_path / "table.csv"
    frame.to_csv(path, index=False)
    prepared = prepare(
        RunConfig(data_path=str(path), target=target, time_budget_s=30, max_loops=0, max_trials=2, **config)
    )
    run_dir = tmp_path / "run"
    state = execute(prepared, run_dir, RunStore(tmp_path / "store.sqlite"))
    assert state.status == "finished", state.error
    return state, run_dir


@pytest.mark.slow
def test_a_planted_post_outcome_column_is_excluded_and_prediction_does_not_need_it(tmp_path):
    frame, target = _table("breast_cancer")
    state, run_dir = _run(_planted(frame, target), tmp_path, target)
    suspects = {s["column"]: s for s in state.profile.leakage_suspects}
    assert PLANT in suspects and not suspects[PLANT]["kept"] and suspects[PLANT]["reason"]
    assert set(suspects) == {PLANT}, "only the planted column is flagged"
    # said at the top of the profile findings, in the summary and in the run's notes
    assert state.profile.findings_md.startswith(state.profile.leakage_note) and PLANT in state.profile.leakage_note
    assert "excluded" in state.profile.leakage_note.lower() and PLANT in state.profile.summary
    assert any(PLANT in note and "leakage" in note for note in state.notes)
    report = (run_dir / "report.md").read_text()  # at the top of the report, before anything else
    assert report.index(state.profile.leakage_note) < report.index("- Dataset:")
    assert report.count(state.profile.leakage_note) == 1
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["leakage_suspects"] == [{"column": PLANT, "rule": suspects[PLANT]["rule"], "kept": False}]
    model = joblib.load(run_dir / "model.joblib")
    assert PLANT not in model.required_columns
    assert all(PLANT not in c for c in state.features.columns)
    new_rows = frame.drop(columns=[target]).head(20)  # new rows do not have the post-outcome field
    assert len(model.predict(new_rows)) == 20


@pytest.mark.parametrize(
    "name,task",
    [("breast_cancer", "binary"), ("digits", "multiclass"), ("iris", "multiclass"), ("diabetes", "regression")],
)
def test_the_planted_leak_is_flagged_on_real_tables_of_every_task(name, task):
    frame, target = _table(name)
    profile = _profile(_planted(frame, target, regression=task == "regression"), target, task)
    assert [s["column"] for s in profile.leakage_suspects] == [PLANT]


@pytest.mark.parametrize(
    "name,task",
    [
        ("breast_cancer", "binary"),
        ("wine", "multiclass"),
        ("digits", "multiclass"),
        ("iris", "multiclass"),
        ("diabetes", "regression"),
    ],
)
def test_honest_real_tables_lose_no_column(name, task):
    frame, target = _table(name)
    part = frame.sample(frac=0.8, random_state=1).reset_index(drop=True)
    X, y = part.drop(columns=[target]), part[target]
    profile = profile_frame(X, y, target, task, 1)
    assert profile.leakage_suspects == [] and profile.leakage_note == ""
    report = find_leaks(X, y, profile.columns, task, 1)
    assert report.suspects == [] and report.checked == report.total
    if name == "iris":  # its petal columns alone are as good as the rest: compared with it, and spared
        assert report.compared >= 1


@pytest.mark.slow
def test_keep_columns_keeps_a_flagged_column(tmp_path):
    frame, target = _table("breast_cancer")
    path = tmp_path / "planted.csv"
    _planted(frame, target).to_csv(path, index=False)
    out = tmp_path / "run"
    code = main(
        [
            "run",
            str(path),
            "--target",
            target,
            "--time-budget",
            "30",
            "--max-loops",
            "0",
            "--max-trials",
            "2",
            "--keep-columns",
            f"{PLANT}, not_a_column",
            "--out",
            str(out),
            "--store",
            str(tmp_path / "s.sqlite"),
        ]
    )
    assert code == 0
    state = json.loads((out / "run.json").read_text())["state"]
    assert state["config"]["keep_columns"] == [PLANT, "not_a_column"]
    suspect = next(s for s in state["profile"]["leakage_suspects"] if s["column"] == PLANT)
    assert suspect["kept"] is True
    assert "kept at the user's request" in state["profile"]["leakage_note"].lower()
    assert any("not_a_column" in n for n in state["notes"])
    model = joblib.load(out / "model.joblib")
    assert PLANT in model.required_columns


@pytest.mark.slow
def test_keep_column_at_the_features_gate_brings_it_back(tmp_path):
    frame, target = _table("breast_cancer")
    path = tmp_path / "planted.csv"
    _planted(frame, target).to_csv(path, index=False)
    decisions = tmp_path / "decisions.json"
    decisions.write_text(json.dumps({"features": {"approve": False, "feedback": f"keep column {PLANT}"}}))
    out = tmp_path / "run"
    assert (
        main(
            [
                "run",
                str(path),
                "--target",
                target,
                "--time-budget",
                "30",
                "--max-loops",
                "0",
                "--max-trials",
                "2",
                "--approve",
                "features",
                "--decisions",
                str(decisions),
                "--out",
                str(out),
                "--store",
                str(tmp_path / "s.sqlite"),
            ]
        )
        == 0
    )
    state = json.loads((out / "run.json").read_text())["state"]
    gate = state["gate_log"][0]
    assert gate["details"]["leakage_excluded"] == [PLANT] and f"keep column {PLANT}" in gate["summary"]
    assert state["config"]["keep_columns"] == [PLANT]
    assert next(s for s in state["profile"]["leakage_suspects"] if s["column"] == PLANT)["kept"] is True
    assert PLANT in joblib.load(out / "model.joblib").required_columns


def test_a_column_whose_missingness_gives_the_outcome_away_is_flagged():
    frame, target = _table("breast_cancer")
    rng = np.random.default_rng(3)
    followup = rng.normal(50, 10, len(frame)).round(1)
    empty = (frame[target] == 1).to_numpy() ^ (rng.random(len(frame)) < 0.05)  # empty for one class, 5 % noise
    frame.insert(5, "followup_visits", np.where(empty, np.nan, followup))
    profile = _profile(frame, target, "binary")
    assert [s["column"] for s in profile.leakage_suspects] == ["followup_visits"]
    assert "empty" in profile.leakage_suspects[0]["reason"]


def test_a_near_duplicate_of_a_numeric_target_is_flagged():
    frame, target = _table("diabetes")
    rng = np.random.default_rng(5)
    frame.insert(2, "adjusted_score", frame[target] * 1.01 + rng.normal(0, 0.1 * frame[target].std(), len(frame)))
    profile = _profile(frame, target, "regression")
    assert [s["column"] for s in profile.leakage_suspects] == ["adjusted_score"]
    assert profile.leakage_suspects[0]["rule"] == "near-duplicate of the target"


def test_a_date_recorded_after_the_outcome_is_flagged():
    frame, target = _table("breast_cancer")
    rng = np.random.default_rng(7)
    late = (frame[target] == 1).to_numpy() ^ (rng.random(len(frame)) < 0.01)  # closed later for one class
    days = np.where(late, rng.integers(400, 700, len(frame)), rng.integers(0, 300, len(frame)))
    closed = pd.Timestamp("2022-01-01") + pd.to_timedelta(days, unit="D")
    frame.insert(4, "closed_on", closed.strftime("%Y-%m-%d"))
    profile = _profile(frame, target, "binary")
    assert profile.date_columns == ["closed_on"]
    assert [(s["column"], s["rule"]) for s in profile.leakage_suspects] == [("closed_on", "date after the outcome")]


def test_two_copies_of_one_outcome_field_do_not_hide_each_other():
    frame, target = _table("breast_cancer")
    planted = _planted(frame, target)
    planted.insert(7, "status_text", np.where(planted[PLANT] == 1, "closed", "open"))
    profile = _profile(planted, target, "binary")
    assert sorted(s["column"] for s in profile.leakage_suspects) == sorted([PLANT, "status_text"])


def test_an_honest_table_whose_signal_is_one_column_keeps_it():
    rng = np.random.default_rng(0)
    n = 3000
    X = pd.DataFrame({"x": rng.normal(size=n), **{f"noise{i}": rng.normal(size=n) for i in range(4)}})
    y = pd.Series((X["x"] + rng.normal(0, 0.35, n) > 0).astype(int))  # one strong honest column (AUC ~0.97)
    profile = profile_frame(X, y, "y", "binary", 0)
    assert profile.leakage_suspects == []
    strong = find_leaks(X, y, profile.columns, "binary", 0).details["x"]
    assert strong["alone"] > 0.95 and strong["bar"] > 0.85  # it is strong: only the absolute bar spares it
    both = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    y2 = pd.Series((both["a"] + both["b"] + rng.normal(0, 0.3, n) > 0).astype(int))
    assert profile_frame(both, y2, "y", "binary", 0).leakage_suspects == []


def test_keep_feedback_is_read_from_plain_english():
    cols = ["review_code", "x", "petal width (cm)"]
    assert kept_in_feedback("keep column review_code", cols) == ["review_code"]
    assert kept_in_feedback("please use `x` anyway, and keep petal width (cm)", cols) == ["x", "petal width (cm)"]
    assert kept_in_feedback("do not drop review_code", cols) == ["review_code"]
    assert kept_in_feedback("do not use review_code; drop column x", cols) == []


def test_feature_code_that_reads_an_excluded_column_is_sent_back(tmp_path):
    from pipeline.phases.features import _validator

    validate = _validator("target", [PLANT], n_raw=4)
    (tmp_path / "features_meta.json").write_text(
        json.dumps({"columns": ["a", "b", "a_x_b"], "required": ["a", "b", PLANT], "rowwise": True})
    )
    assert PLANT in validate(tmp_path, "def transform(df):\n    return df\n")
    (tmp_path / "features_meta.json").write_text(
        json.dumps({"columns": ["a", PLANT], "required": ["a", "b", "c", PLANT], "rowwise": True})
    )  # passed straight through
    assert PLANT in validate(tmp_path, "def transform(df):\n    return df\n")
