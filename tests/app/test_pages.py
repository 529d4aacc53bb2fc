"""AppTest for every page: upload, launch with the offline brain, Stop, render finished/failed runs,
the Runs registry (compare, open, delete) and Predict. Everything runs for real: no mocks."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest
from app_support import app_test

from pipeline.tables.samples import SAMPLES, sample_frame

PANEL_TABS = ["Data profile", "Features", "Visualizations", "Model", "Evaluation", "Critic"]
EVIL = "<img src=x onerror=alert(1)> **bold** [link](http://x)"


def _runner():
    from ui.runner import get_runner

    return get_runner()


def _wait_done(run_id: str, timeout: float = 150) -> str:
    handle = _runner().get(run_id)
    assert handle is not None
    deadline = time.time() + timeout
    while not handle.done and time.time() < deadline:
        time.sleep(0.3)
    assert handle.done, "run did not end in time"
    return handle.snapshot().status


def _texts(at) -> str:
    parts = []
    for kind in ("markdown", "caption", "success", "error", "warning", "info", "title"):
        parts += [str(e.value) for e in getattr(at, kind)]
    return "\n".join(parts)


def _raw_html(text: str) -> bool:
    """True when an <img tag would reach markdown unescaped (outside a code span)."""
    import re

    no_code = re.sub(r"`[^`]*`", "", text)
    return re.search(r"(?<!\\)<img", no_code) is not None


def _kinds(at) -> dict[str, int]:
    """How many elements of each type the page drew (charts, images, graph...)."""
    from collections import Counter

    counts: Counter = Counter()

    def walk(node) -> None:
        counts[getattr(node, "type", type(node).__name__)] += 1
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return dict(counts)


def _tab_labels(at) -> list[str]:
    return [t.label for t in at.tabs]


def _copy_run(src: Path, home: Path, status: str, **changes) -> str:
    """A new run record built from a real finished run directory, with some fields changed."""
    from pipeline.run.store import RunStore, new_run_id
    from pipeline.state import run_state_from_dict

    run_id = new_run_id()
    dst = home / "runs" / run_id
    shutil.copytree(src, dst)
    data = json.loads((dst / "run.json").read_text())
    data["state"].update(run_id=run_id, status=status, **changes)
    data.update(run_id=run_id, status=status)
    (dst / "run.json").write_text(json.dumps(data))
    RunStore(home / "store.sqlite").upsert(run_state_from_dict(data["state"]), dst)
    return run_id


@pytest.mark.slow
def test_observatory_upload_preview_and_run_with_offline_brain(home):
    frame = sample_frame("churn").rename(columns={"support_tickets": EVIL})
    at = app_test()
    at.run()
    assert not at.exception
    assert "Observatory" in at.title[0].value
    assert not [b for b in at.button if b.label == "Run pipeline"], "no Run button before there is data"
    at.file_uploader(key="upload").set_value(("churn <odd>.csv", frame.to_csv(index=False).encode(), "text/csv"))
    at.run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Rows"] == "1,500" and metrics["Columns"] == "10"
    target = at.selectbox(key=[s.key for s in at.selectbox if s.label == "Target column"][0])
    assert target.value == "churned", "pre-filled with the inferred target"
    assert EVIL in target.options, "column names reach widgets verbatim"
    # Data-derived text never reaches markdown unescaped.
    assert not _raw_html(_texts(at))
    target.set_value("churned")
    at.number_input(key="budget").set_value(10)
    at.text_area(key=[t.key for t in at.text_area][0]).set_value("catch churners; recall matters most")
    at.button(key="run_pipeline").click()
    at.run()
    assert not at.exception
    run_id = at.query_params["run"]
    run_id = run_id[0] if isinstance(run_id, list) else run_id
    assert at.session_state["run_id"] == run_id
    assert _wait_done(run_id) == "finished"
    at.run()
    assert not at.exception
    assert at.success and at.success[0].value.startswith("**Finished**")
    # The tab labels stay the same for the whole run (a changing label made Streamlit select the first tab);
    # each phase's state is on its chip.
    labels = _tab_labels(at)
    assert [lab.split(" ", 1)[1] for lab in labels if lab.startswith(":material/")] == PANEL_TABS, labels
    chips = [m.value for m in at.markdown if ":gray[" in m.value]
    assert len(chips) == len(PANEL_TABS) and all("● done" in c for c in chips), chips
    assert len(at.get("download_button")) == 4
    state = _runner().get(run_id).snapshot()
    assert state.config.objective == "catch churners; recall matters most", "the objective reached the engine"
    assert state.config.time_budget_s == 10 and state.config.brain == "offline"
    assert EVIL in state.profile.columns[[c.name for c in state.profile.columns].index(EVIL)].name
    assert not _raw_html(_texts(at))


def test_unreadable_upload_gives_a_clear_error():
    at = app_test()
    at.run()
    at.file_uploader(key="upload").set_value(
        ("broken.parquet", b"\x00\x01 not parquet at all", "application/octet-stream")
    )
    at.run()
    assert not at.exception
    assert at.error and at.error[0].value.startswith("**Cannot read this file:**")
    assert "Traceback" not in at.error[0].value


def test_sample_dataset_prefills_target_and_objective():
    at = app_test()
    at.run()
    at.radio(key="source").set_value("Try a sample dataset").run()
    at.selectbox(key="sample").set_value("diabetes").run()
    assert not at.exception
    target = [s for s in at.selectbox if s.label == "Target column"][0]
    assert target.value == "progression"
    assert [t for t in at.text_area][0].value == SAMPLES["diabetes"].objective


@pytest.mark.slow
def test_finished_run_renders_from_the_store(finished_run):
    """The CLI made this run in another process: this server never had it in memory (as after a restart)."""
    assert _runner().get(finished_run["run_id"]) is None
    at = app_test()
    at.query_params["run"] = finished_run["run_id"]
    at.run()
    assert not at.exception
    assert at.success[0].value.startswith("**Finished**")
    assert any(finished_run["run_id"] in m.value for m in at.markdown)
    labels = _tab_labels(at)
    assert all(any(name in lab for lab in labels) for name in PANEL_TABS), labels
    text = _texts(at)
    for marker in ("Key findings", "Feature code in force", "Candidates (cross-validation)", "Critic", "Iterations"):
        assert marker in text or any(marker in lab for lab in labels), marker
    kinds = _kinds(at)
    print(kinds)
    assert kinds.get("graphviz_chart") == 1
    assert kinds.get("vega_lite_chart", 0) >= 5  # timeline, class balance, candidates, importance, ROC/PR/CM
    assert kinds.get("image", 0) >= 1  # the visualizer's seaborn PNGs
    assert at.code and any("def transform" in c.value for c in at.code)
    assert len(at.get("download_button")) == 4
    assert not at.get("button") or all(b.label != "Stop" for b in at.button)


def test_failed_run_shows_reason_and_hides_traceback(finished_run, home):
    run_id = _copy_run(
        finished_run["run_dir"],
        home,
        "failed",
        error="The target column has a single value.",
        error_detail='Traceback (most recent call last):\n  File "x.py", line 1\nValueError: boom',
    )
    at = app_test()
    at.query_params["run"] = run_id
    at.run()
    assert not at.exception
    assert at.error[0].value.startswith("**Failed:**")
    assert "single value" in at.error[0].value
    assert "Traceback" not in at.error[0].value
    details = [e for e in at.expander if e.label == "Technical details"]
    assert details and "Traceback" in details[0].code[0].value
    assert not at.get("download_button"), "no downloads for a failed run"


@pytest.mark.slow
def test_live_runs_show_progress_queue_position_and_stop_cancels(home):
    from pipeline.engine.prepare import prepare
    from pipeline.state import RunConfig
    from pipeline.tables.samples import sample_path
    from ui.runner import max_concurrent

    config = RunConfig(
        data_path=str(sample_path("breast_cancer", home / "samples")),
        target="diagnosis",
        time_budget_s=300,
        dataset_name="breast_cancer.csv",
    )
    limit = max_concurrent()
    handles = [_runner().start(prepare(config, {})) for _ in range(limit + 1)]
    try:
        waiting = handles[-1]
        deadline = time.time() + 10
        while waiting.queue_position != 1 and time.time() < deadline:
            time.sleep(0.1)
        assert waiting.queue_position == 1
        at = app_test()
        at.query_params["run"] = waiting.run_id
        at.run()
        assert not at.exception
        assert at.info and at.info[0].value.startswith("**Queued** — position 1")
        assert f"at most {limit} runs at once" in at.info[0].value
        live = handles[0]
        at = app_test()
        at.query_params["run"] = live.run_id
        at.run()
        assert not at.exception
        assert at.info and at.info[0].value.startswith("**Running**")
        stop = [b for b in at.button if b.label == "Stop"]
        assert stop
        stop[0].click()
        at.run()
        assert _wait_done(live.run_id, timeout=60) == "cancelled"
        at.run()
        assert not at.exception
        assert at.warning and at.warning[0].value.startswith("**Cancelled:**")
        assert not [b for b in at.button if b.label == "Stop"]
    finally:
        for h in handles:
            h.cancel()
        for h in handles:
            _wait_done(h.run_id, timeout=60)


def test_missing_run_id_is_explained():
    at = app_test()
    at.query_params["run"] = "20000101-000000-nothere"
    at.run()
    assert not at.exception
    assert at.warning and "No run with id" in at.warning[0].value


def test_runs_page_lists_compares_opens_and_deletes(finished_run, home):
    other = _copy_run(finished_run["run_dir"], home, "finished")
    at = app_test()
    at.switch_page("app_pages/runs.py").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert {finished_run["run_id"], other} <= set(table["run"])
    row = table.set_index("run").loc[finished_run["run_id"]]
    assert row["status"] == "finished" and row["target"] == "cultivar" and row["brain"] == "offline"
    # Compare two.
    at.session_state["runs_pick"] = [finished_run["run_id"], other]
    at.run()
    assert not at.exception
    assert any("Side by side" in m.value for m in at.markdown)
    assert _kinds(at).get("graphviz_chart") == 2
    # Delete one (needs the confirmation).
    at.session_state["runs_pick"] = [other]
    at.run()
    assert at.button(key="delete_runs").disabled
    at.checkbox(key="confirm_delete").check().run()
    at.button(key="delete_runs").click().run()
    assert not at.exception
    assert _runner().store.get(other) is None
    assert not (home / "runs" / other).exists()
    assert (finished_run["run_dir"] / "run.json").is_file()
    # Open one in the Observatory.
    at.session_state["runs_pick"] = [finished_run["run_id"]]
    at.run()
    at.button(key="open_run").click().run()
    assert not at.exception
    assert any("Observatory" in t.value for t in at.title)
    assert at.success and at.success[0].value.startswith("**Finished**")


def test_predict_page_scores_new_rows_and_explains_missing_columns(finished_run):
    wine = sample_frame("wine")
    at = app_test()
    at.switch_page("app_pages/predict.py").run()
    assert not at.exception
    at.selectbox(key="predict_run").set_value(finished_run["run_id"]).run()
    new_rows = wine.drop(columns=["cultivar"]).head(25)
    at.file_uploader(key="predict_upload").set_value(("new.csv", new_rows.to_csv(index=False).encode(), "text/csv"))
    at.run()
    assert not at.exception
    assert at.success and "Scored 25 rows" in at.success[0].value
    out = at.dataframe[-1].value
    assert "prediction" in out.columns and len(out) == 25
    assert set(out["prediction"]) <= set(wine["cultivar"])
    assert any(c.startswith("proba_") for c in out.columns)
    assert len(at.get("download_button")) == 1
    broken = new_rows.drop(columns=["proline", "alcohol"])
    at.file_uploader(key="predict_upload").set_value(("broken.csv", broken.to_csv(index=False).encode(), "text/csv"))
    at.run()
    assert not at.exception
    assert at.error and at.error[0].value.startswith("**Cannot score this data:**")
    assert "proline" in at.error[0].value or "alcohol" in at.error[0].value


@pytest.mark.parametrize("key", list(SAMPLES))
def test_samples_are_bundled_and_learnable(key, home):
    from pipeline.tables.reader import infer_task
    from pipeline.tables.samples import sample_path

    sample = SAMPLES[key]
    path = sample_path(key, home / "samples")
    frame = pd.read_csv(path)
    assert sample.target in frame.columns and len(frame) >= 100
    assert infer_task(frame[sample.target]) == sample.task


def test_md_escape_neutralises_markup():
    from ui.text import md_escape

    out = md_escape(EVIL + " $x$ :red[hi]")
    assert not _raw_html(out)
    for raw in ("**bold**", "[link](", "$x$", ":red["):
        assert raw not in out
    assert out.replace("\\", "") == (EVIL + " $x$ :red[hi]")  # nothing lost, only escaped


def test_graph_status_marks_phases_the_critic_sends_back(finished_run):
    """Mid-run after a 'refine_features' decision: features..critic will re-run, the profiler stays done."""
    import copy

    from pipeline.engine.graph import to_dot
    from pipeline.run.store import load_state
    from pipeline.state import CriticDecision
    from ui.progress import phase_status

    state = copy.deepcopy(load_state(finished_run["run_dir"]))
    state.status, state.iteration = "running", state.iteration + 1
    state.decisions.append(CriticDecision(iteration=state.iteration - 1, action="refine_features", reason="try more"))
    status = phase_status(state)
    assert status["profiler"] == "done"
    assert all(status[p] == "rerun" for p in ("features", "visualizer", "trainer", "evaluator", "critic"))
    assert "will re-run" in to_dot(status, "", None)


@pytest.mark.slow
def test_llm_usage_is_shown_per_phase_with_fallbacks(finished_run, home):
    """A real LLMBrain talks to a fake OpenAI-compatible server (real SDK); its ledger renders in the Critic tab."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "llm"))
    from fakes import FakeLLMServer

    from pipeline.brains import make_brain
    from pipeline.brains.base import CodeFailure
    from pipeline.state import RunConfig

    server = FakeLLMServer("openai").start()
    try:
        brain = make_brain(
            RunConfig(data_path="x.csv", brain="openai"),
            {"OPENAI_API_KEY": "sk-test-usage", "OPENAI_BASE_URL": server.base_url, "LLM_MODEL": "fake-model"},
        )
        brain.repair_code(
            CodeFailure("features", "def transform(df):\n    return df.x\n", "run", "AttributeError: x"), None
        )
        usage = brain.usage()
    finally:
        server.stop()
    assert usage["total"]["calls"] >= 1 and usage["total"]["tokens_in"] > 0
    run_id = _copy_run(finished_run["run_dir"], home, "finished", usage=usage)
    at = app_test()
    at.query_params["run"] = run_id
    at.run()
    assert not at.exception
    assert "Language model" in _texts(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics.get("Tokens in / out") == f"{usage['total']['tokens_in']:,} / {usage['total']['tokens_out']:,}"
    assert metrics.get("Model") == "fake-model"
    assert "sk-test-usage" not in json.dumps(usage)


def test_sandbox_layers_the_host_refuses_are_said_at_the_top(finished_run, home):
    """A run whose generated code got only the fallback layers says so above its panels, naming each missing
    layer and what it would have stopped; a run with every layer says so in one quiet line, with no warning."""
    state = json.loads((Path(finished_run["run_dir"]) / "run.json").read_text())["state"]
    full = "zygote+userns+netns+ipcns+pidns+rlimits+landlock(v7)+seccomp+audithook"
    weak = "subprocess+rlimits+audithook+net:audithook-only"
    shown, quiet = {}, {}
    for name, layers in (("full", full), ("weak", weak)):
        log = [{**entry, "isolation": layers} for entry in state["code_log"]]
        at = app_test()
        at.query_params["run"] = _copy_run(finished_run["run_dir"], home, "finished", code_log=log)
        at.run()
        assert not at.exception
        shown[name] = [w.value for w in at.warning if "sandbox" in w.value]
        quiet[name] = [c.value for c in at.caption if "full process sandbox" in c.value]
    assert shown["full"] == [] and len(quiet["full"]) == 1 and full in quiet["full"][0]
    assert quiet["weak"] == []
    assert len(shown["weak"]) == 1
    for layer in ("userns", "landlock", "seccomp"):
        assert f"**{layer}**" in shown["weak"][0]
    assert weak in shown["weak"][0] and "audit hook" in shown["weak"][0]
