"""The engine end to end: routing, the honest protocol, leakage, artefacts, prediction on messy data."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import sklearn.pipeline

from pipeline.brains.offline import OfflineBrain
from pipeline.cli.main import main
from pipeline.engine.execute import execute
from pipeline.engine.prepare import prepare
from pipeline.phases.trainer_screen import ENSEMBLE_MEMBERS
from pipeline.run.store import RunStore
from pipeline.state import CriticDecision, RunConfig
from tests.engine.frames import churn_frame

ROOT = Path(__file__).resolve().parents[2]


class ScriptedCritic(OfflineBrain):
    """The offline brain, except the critic follows a script (to drive every route of the graph)."""

    def __init__(self, actions: list[str]) -> None:
        self.actions = list(actions)

    def critic_decision(self, request):
        action = self.actions.pop(0) if self.actions else "finalize"
        return CriticDecision(request.iteration, action, f"scripted {action}")


def _run(path, tmp_path, brain=None, **overrides):
    config = RunConfig(data_path=str(path), time_budget_s=overrides.pop("budget", 120), max_trials=3, **overrides)
    prepared = prepare(config)
    if brain is not None:
        prepared.brain = brain
    run_dir = tmp_path / "run"
    state = execute(prepared, run_dir, RunStore(tmp_path / "store.sqlite"))
    return state, run_dir


@pytest.mark.slow
def test_all_three_critic_routes_in_one_run(churn_csv, tmp_path):
    state, _ = _run(
        churn_csv,
        tmp_path,
        ScriptedCritic(["refine_features", "retrain_model", "finalize"]),
        target="churn",
        max_loops=3,
    )
    assert state.status == "finished", state.error
    phases = [(r.phase, r.iteration) for r in state.history]
    assert phases == [
        ("profiler", 1),
        ("features", 1),
        ("visualizer", 1),
        ("trainer", 1),
        ("evaluator", 1),
        ("critic", 1),
        ("features", 2),
        ("visualizer", 2),
        ("trainer", 2),
        ("evaluator", 2),
        ("critic", 2),
        ("trainer", 3),
        ("evaluator", 3),
        ("critic", 3),
    ]
    assert [d.action for d in state.decisions] == ["refine_features", "retrain_model", "finalize"]
    assert state.training.regularisation == 1
    # a later loop draws only the numeric features it added (or nothing, and says so); earlier plots stay
    later = [p for p in state.plots.plots if p.path.startswith("plots/it2_")]
    assert all(p.name.startswith("new_features_") for p in later)
    assert later or any("plots were" in n for n in state.notes)  # not redrawn, or skipped for time
    assert any(p.path.startswith("plots/it1_") for p in state.plots.plots)
    for record in state.history:  # model fitting is told apart from overhead in every phase
        assert 0.0 <= record.fit_s <= record.duration_s + 1e-3
        assert (record.fit_s > 0) == (record.phase in ("features", "trainer"))
    best_cv = max(s.cv_score for s in state.iterations)
    assert state.selected_iteration == next(s.iteration for s in state.iterations if s.cv_score == best_cv)


@pytest.mark.slow
def test_time_left_after_a_finalize_goes_to_tuning_the_best_family(churn_csv, tmp_path):
    config = RunConfig(data_path=str(churn_csv), target="churn", time_budget_s=90, max_loops=2)  # room for a loop
    prepared = prepare(config)
    prepared.brain = ScriptedCritic(["finalize"] * 5)
    state = execute(prepared, tmp_path / "run", RunStore(tmp_path / "store.sqlite"))
    assert state.status == "finished", state.error
    first = state.decisions[0]
    assert first.action == "retrain_model" and first.extra_tuning and "left" in first.reason
    assert state.decisions[-1].action == "finalize"
    assert state.training.regularisation == 0  # spending spare time is not a call for regularisation
    # a spare round takes the best family and, besides it, only families whose screening CV it can reuse (at most
    # the blend's three), and tunes the best one first
    spare, sign = state.training, 1 if state.objective.greater_is_better else -1
    assert 1 <= len(spare.candidates) <= ENSEMBLE_MEMBERS
    best = max((c for c in spare.candidates if c.cv_score is not None), key=lambda c: sign * c.cv_score)
    assert spare.trials and spare.trials[0]["family"] == best.name
    best_cv = max(s.cv_score for s in state.iterations)
    assert next(s.cv_score for s in state.iterations if s.iteration == state.selected_iteration) == best_cv


@pytest.mark.slow
def test_loop_bound_stops_a_critic_that_never_finalizes(churn_csv, tmp_path):
    state, _ = _run(churn_csv, tmp_path, ScriptedCritic(["refine_features"] * 10), target="churn", max_loops=1)
    assert state.status == "finished"
    assert [d.action for d in state.decisions] == ["refine_features", "finalize"]
    assert "Loop bound" in state.decisions[-1].reason
    assert max(r.iteration for r in state.history) == 2


@pytest.mark.slow
def test_holdout_rows_never_reach_fitting_and_leak_is_flagged(tmp_path, monkeypatch):
    frame = churn_frame(500, seed=3)
    frame["marker"] = np.arange(len(frame)) + 0.5  # identifies each row wherever it goes
    frame["leak"] = (frame["churn"] == "yes").astype(float) * 3.0 + np.random.default_rng(1).normal(0, 0.01, len(frame))
    path = tmp_path / "leaky.csv"
    frame.to_csv(path, index=False)
    fits: list[tuple[float, set[float]]] = []  # (when, markers of the rows fitted on)
    original = sklearn.pipeline.Pipeline.fit

    def spy(self, X, y=None, **kw):
        if isinstance(X, pd.DataFrame) and "marker" in X.columns:
            fits.append((time.time(), set(X["marker"].tolist())))
        return original(self, X, y, **kw)

    monkeypatch.setattr(sklearn.pipeline.Pipeline, "fit", spy)
    state, run_dir = _run(path, tmp_path, target="churn", max_loops=0)
    assert state.status == "finished", state.error
    assert any(s["column"] == "leak" for s in state.profile.leakage_suspects)
    model = joblib.load(run_dir / "model.joblib")
    members = getattr(model.pipeline, "members", [model.pipeline])
    used = set().union(*(set(m.named_steps["prep"].columns_) for m in members))
    assert "leak" not in used and not any(c.startswith("leak") for c in used)
    holdout = pd.read_csv(run_dir / "holdout_predictions.csv")
    assert len(holdout) == 100
    holdout_markers = set(pd.read_parquet(run_dir / "data" / "holdout_X.parquet")["marker"])
    assert len(holdout_markers) == 100
    # no fit before the holdout was scored and the critic finalized ever saw a holdout row ...
    scored_at = max(r.ended_at for r in state.history if r.phase == "critic")
    before = [markers for when, markers in fits if when < scored_at]
    assert before, "the spy saw the training fits"
    assert not any(markers & holdout_markers for markers in before), "a holdout row reached fitting before scoring"
    # ... and the delivered model, refit after that, learned from every row
    assert any(holdout_markers <= markers for when, markers in fits if when >= scored_at)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    data = tmp / "churn.csv"
    churn_frame(400, seed=5).to_csv(data, index=False)
    out = tmp / "run"
    started = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "run",
            str(data),
            "--objective",
            "predict churn; recall on churners matters most",
            "--time-budget",
            "25",
            "--max-loops",
            "1",
            "--out",
            str(out),
            "--store",
            str(tmp / "store.sqlite"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    proc.wall_s = time.monotonic() - started
    return out, proc, tmp


@pytest.mark.slow
def test_cli_run_writes_every_artefact_within_budget(finished_run):
    out, proc, tmp = finished_run
    assert "Feature Engineer" in proc.stderr and "Finished" in proc.stderr
    state = json.loads((out / "run.json").read_text())["state"]
    assert state["status"] == "finished" and state["profile"]["target"] == "churn"
    assert state["objective"]["metric"] == "f2" and state["objective"]["tune_threshold"]
    assert proc.wall_s <= 25 * 1.1, f"the whole command (start-up included) took {proc.wall_s:.1f} s"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "binary" and metrics["metric"] == "f2"
    assert {"f2", "recall", "roc_auc"} <= set(metrics["cv"]) and {"f2", "recall"} <= set(metrics["holdout"])
    assert metrics["holdout"]["roc_auc"] > 0.75
    assert len(list((out / "plots").glob("*.png"))) >= 5
    code = sorted((out / "code").glob("*.py"))
    assert code and all(p.with_suffix(".json").exists() for p in code)
    assert (out / "report.md").read_text().startswith("# Run")
    assert (out / "export" / "predict.py").exists() and "pandas==" in (out / "export" / "requirements.txt").read_text()
    rows = RunStore(tmp / "store.sqlite").list()
    assert rows[0]["status"] == "finished" and rows[0]["target"] == "churn"


@pytest.mark.slow
def test_predict_on_messy_new_data(finished_run, tmp_path):
    out, _, _ = finished_run
    new = churn_frame(30, seed=9).drop(columns=["churn"])
    new["plan"] = new["plan"].replace({"basic": "enterprise"})  # unseen category
    new["monthly_charges"] = new["monthly_charges"].map(lambda v: f"{v:,.2f}" if v == v else "")  # text numbers
    new["unexpected"] = "x"  # extra column
    new = new[list(reversed(new.columns))]  # shuffled order
    src = tmp_path / "new.csv"
    new.to_csv(src, index=False)
    dst = tmp_path / "pred.csv"
    assert main(["predict", "--run", str(out), "--data", str(src), "--out", str(dst)]) == 0
    pred = pd.read_csv(dst)
    assert len(pred) == 30 and {"prediction", "proba_no", "proba_yes"} <= set(pred.columns)
    assert np.allclose(pred["proba_no"] + pred["proba_yes"], 1.0)
    exported = subprocess.run(
        [sys.executable, "predict.py", str(src), str(tmp_path / "pred2.csv")],
        cwd=out / "export",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert exported.returncode == 0, exported.stderr
    assert pd.read_csv(tmp_path / "pred2.csv")["prediction"].tolist() == pred["prediction"].tolist()


def test_predict_without_a_required_column_is_a_clear_error(finished_run, tmp_path, capsys):
    out, _, _ = finished_run
    src = tmp_path / "new.csv"
    churn_frame(10).drop(columns=["churn", "tenure"]).to_csv(src, index=False)
    assert main(["predict", "--run", str(out), "--data", str(src), "--out", str(tmp_path / "p.csv")]) == 2
    err = capsys.readouterr().err
    assert "Missing required column(s): tenure" in err and "Traceback" not in err
    assert not (tmp_path / "p.csv").exists()
