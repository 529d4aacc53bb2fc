"""Templates: save a finished run's recipe, list it, replay it on a new file with the same columns."""

from __future__ import annotations

import json

import pytest

from pipeline.cli.main import main as cli_main
from pipeline.run.store import load_state
from tests.engine.frames import churn_frame

pytestmark = pytest.mark.slow  # the whole module runs real pipelines, apps or browsers


def test_template_save_list_and_replay(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MLPIPELINE_HOME", str(tmp_path / "home"))
    first = tmp_path / "first.csv"
    churn_frame(n=300, seed=3).to_csv(first, index=False)
    assert (
        cli_main(
            [
                "run",
                str(first),
                "--target",
                "churn",
                "--objective",
                "recall on churners matters most",
                "--time-budget",
                "9",
                "--max-loops",
                "0",
                "--seed",
                "7",
                "--out",
                str(tmp_path / "a"),
            ]
        )
        == 0
    )
    assert cli_main(["templates", "save", str(tmp_path / "a"), "churn-recipe"]) == 0
    saved = json.loads((tmp_path / "home" / "templates" / "churn-recipe.json").read_text())
    assert saved["target"] == "churn" and saved["config"]["seed"] == 7 and saved["config"]["max_loops"] == 0
    assert "def transform" in saved["feature_code"] and saved["model"]["family"] and saved["model"]["search_space"]
    capsys.readouterr()
    assert cli_main(["templates", "list"]) == 0
    assert "churn-recipe" in capsys.readouterr().out

    second = tmp_path / "second.csv"
    churn_frame(n=300, seed=4).to_csv(second, index=False)
    assert cli_main(["run", str(second), "--template", "churn-recipe", "--out", str(tmp_path / "b")]) == 0
    state = load_state(tmp_path / "b")
    assert state.status == "finished"
    assert state.config.target == "churn" and state.config.objective == "recall on churners matters most"
    assert state.config.seed == 7 and state.config.max_loops == 0 and state.config.time_budget_s == 9
    assert state.objective.metric == load_state(tmp_path / "a").objective.metric
    first_code = next(e for e in state.code_log if e["kind"] == "features")
    assert saved["feature_code"].strip() in (tmp_path / "b" / first_code["file"]).read_text()
    replayed = [c for c in state.training.candidates if c.name.endswith("(template)")]
    assert replayed and replayed[0].family == saved["model"]["family"]
    assert all(replayed[0].params[k] == v for k, v in saved["model"]["params"].items())

    # a file without the template's columns is refused with one clear message
    churn_frame(n=50).drop(columns=["plan"]).to_csv(tmp_path / "bad.csv", index=False)
    assert cli_main(["run", str(tmp_path / "bad.csv"), "--template", "churn-recipe", "--out", str(tmp_path / "c")]) == 2
    assert "plan" in capsys.readouterr().err
    assert cli_main(["run", str(second), "--template", "nope", "--out", str(tmp_path / "d")]) == 2


def test_a_hand_edited_template_without_parameters_still_plans():
    """A template file edited by hand may keep only the family: the plan is that family with its defaults, and a
    template without a family leaves the plan to the run's own brain."""
    from pipeline.artifacts.templates import TemplateBrain
    from pipeline.brains.base import ModelRequest
    from pipeline.brains.offline import OfflineBrain
    from pipeline.state import Objective, ProfileResult, TrainResult

    request = ModelRequest(
        profile=ProfileResult(target="y", task="binary"),
        objective=Objective(metric="roc_auc"),
        n_rows=500,
        n_features=4,
        iteration=1,
        critic_feedback="",
        previous=TrainResult(),
    )
    plan = TemplateBrain(OfflineBrain(), {"name": "t", "model": {"family": "hist_gb"}}).model_plan(request)
    assert [(c.name, c.family, c.params, c.search_space) for c in plan.candidates] == [
        ("hist_gb (template)", "hist_gb", {}, {})
    ]
    inner = TemplateBrain(OfflineBrain(), {"name": "t"}).model_plan(request)
    assert [c.family for c in inner.candidates] == [c.family for c in OfflineBrain().model_plan(request).candidates]
