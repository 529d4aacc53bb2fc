"""AppTest round trip of the approval gates: switch them on in the form, the run pauses, the page is re-created
(a reload while paused, ?run=<id>) and still shows the gate, Reject with feedback redoes the phase, Approve lets
the run finish. Real runs, no mocks."""

from __future__ import annotations

import time

import pytest
from app_support import app_test

pytestmark = pytest.mark.slow  # the whole module runs real pipelines, apps or browsers


def _runner():
    from ui.runner import get_runner

    return get_runner()


def _wait_gate(handle, after: str = "", timeout: float = 90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        gate = handle.pending_gate
        if gate is not None and gate.id != after:
            return gate
        assert not handle.done, handle.snapshot().error
        time.sleep(0.2)
    raise AssertionError("the run never reached the gate")


def _wait_answered(handle, gate, timeout: float = 30) -> None:
    """An answer reaches the worker thread a moment after the click: until then the snapshot still shows the gate
    waiting."""
    deadline = time.time() + timeout
    while (current := handle.pending_gate) is not None and current.id == gate.id and current.status == "waiting":
        assert time.time() < deadline, "the answer never reached the run"
        time.sleep(0.1)


def _reload(run_id: str):
    at = app_test()
    at.query_params["run"] = run_id
    at.run()
    assert not at.exception
    return at


def _page_text(at) -> str:
    parts = [str(e.value) for kind in ("markdown", "caption", "warning") for e in getattr(at, kind)]
    return "\n".join(parts)


def test_gate_pauses_survives_a_reload_and_reject_approve_finish_the_run(home):
    at = app_test()
    at.run()
    at.radio(key="source").set_value("Try a sample dataset").run()
    at.selectbox(key="sample").set_value("wine").run()
    at.number_input(key="budget").set_value(20)
    at.number_input(key="loops").set_value(1)
    assert at.multiselect(key="gates").value == [], "gates are off by default"
    at.multiselect(key="gates").set_value(["features", "finalize"])
    at.button(key="run_pipeline").click()
    at.run()
    assert not at.exception
    run_id = at.query_params["run"]
    run_id = run_id[0] if isinstance(run_id, list) else run_id
    handle = _runner().get(run_id)
    assert handle.snapshot().config.gates == ["features", "finalize"]

    first = _wait_gate(handle)
    assert first.name == "features"
    time.sleep(1.0)
    assert handle.pending_gate.id == first.id and not handle.done, "the run waits at the gate"

    page = _reload(run_id)  # a fresh page (reload while paused) re-attaches and shows the gate
    assert "Waiting for your approval" in _page_text(page)
    assert any("def transform" in c.value for c in page.code), "the generated feature code is shown"
    assert {"Shape before", "Shape after", "New columns", "Dropped columns"} <= {m.label for m in page.metric}
    assert page.button(key="live_gate_approve") and page.button(key="live_gate_reject")
    page.text_area(key=f"live_gate_feedback_{first.id}").set_value("drop column alcohol")
    page.button(key="live_gate_reject").click()
    page.run()
    assert not page.exception

    again = _wait_gate(handle, after=first.id)  # the phase is redone with the feedback and asks again
    assert again.name == "features" and "alcohol" in again.details["dropped_columns"]
    page = _reload(run_id)
    page.button(key="live_gate_approve").click()
    page.run()
    assert not page.exception
    _wait_answered(handle, again)

    while True:  # approve whatever else is asked (the finalize gate)
        deadline = time.time() + 120
        while not handle.done and (handle.pending_gate is None or handle.pending_gate.status != "waiting"):
            assert time.time() < deadline
            time.sleep(0.2)
        if handle.done:
            break
        gate = handle.pending_gate
        assert gate.name == "finalize"
        page = _reload(run_id)
        assert "Critic proposes" in _page_text(page)
        page.button(key="live_gate_approve").click()
        page.run()
        assert not page.exception
        _wait_answered(handle, gate)

    state = handle.snapshot()
    assert state.status == "finished", state.error
    assert state.pending_gate is None
    log = [(g.name, g.status, g.feedback, g.decided_by) for g in state.gate_log]
    assert log[0] == ("features", "rejected", "drop column alcohol", "user")
    assert log[1][:2] == ("features", "approved") and log[-1][:2] == ("finalize", "approved")
    assert "alcohol" not in state.features.columns
    page = _reload(run_id)
    assert "Waiting for your approval" not in _page_text(page)
    assert page.success and page.success[0].value.startswith("**Finished**")
