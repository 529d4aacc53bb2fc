"""The run queue is strictly first in, first out: real prepared runs on a tiny table, a Runner with two
slots, six runs. Runs that hold a slot are stopped one by one (Stop = cancel) and the next run that
starts must always be the one that was queued first; a run cancelled while queued never starts and the
ones behind it move up."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from rel_fixtures import corpus  # noqa: F401  (fixture; sets the runs home first)

from pipeline.engine.prepare import prepare
from pipeline.engine.service import RunHandle, Runner
from pipeline.state import RunConfig

pytestmark = pytest.mark.slow  # the whole module runs real pipelines, apps or browsers

TERMINAL_EVENTS = ("run_finished", "run_failed", "run_cancelled")


def _table(path) -> str:
    rng = np.random.default_rng(7)
    n = 80
    frame = pd.DataFrame({"q_a": rng.normal(size=n), "q_b": rng.normal(size=n), "q_c": rng.integers(0, 5, n)})
    frame["q_label"] = np.where(frame.q_a + 0.5 * frame.q_b + rng.normal(scale=0.5, size=n) > 0, "yes", "no")
    frame.to_csv(path, index=False)
    return str(path)


def _started_at(h: RunHandle) -> float | None:
    return next((e.time for e in h.events() if e.kind == "run_started"), None)


def _ended_at(h: RunHandle) -> float | None:
    return next((e.time for e in h.events() if e.kind in TERMINAL_EVENTS), None)


def _wait(cond, timeout: float = 60, what: str = "") -> None:
    deadline = time.time() + timeout
    while not cond():
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_queue_starts_runs_strictly_in_arrival_order(tmp_path):
    data = _table(tmp_path / "tiny.csv")
    config = RunConfig(
        data_path=data, target="q_label", brain="offline", time_budget_s=300, max_loops=3, dataset_name="tiny.csv"
    )
    runner = Runner(home=tmp_path / "home", max_concurrent=2)
    names = "ABCDEF"
    handles = {n: runner.start(prepare(config, {})) for n in names}
    by_id = {h.run_id: n for n, h in handles.items()}
    try:
        _wait(lambda: _started_at(handles["A"]) and _started_at(handles["B"]), what="A and B to start")
        time.sleep(0.5)  # give a wrongly ordered queue the chance to let a waiting run slip in
        assert [handles[n].queue_position for n in "ABCDEF"] == [0, 0, 1, 2, 3, 4]
        assert [n for n in names if _started_at(handles[n])] == ["A", "B"]
        assert {h.run_id for h in runner.running()} == set(by_id)

        handles["E"].cancel()  # Stop while queued
        _wait(lambda: handles["E"].done, what="E cancelled while queued")
        assert handles["E"].snapshot().status == "cancelled"
        assert handles["E"].snapshot().error == "Cancelled before it started."
        assert [handles[n].queue_position for n in "CDEF"] == [1, 2, 0, 3]

        # Free one slot at a time: the head of the line, and only it, starts.
        expected_next = {"A": "C", "B": "D", "C": "F"}
        for stop, nxt in expected_next.items():
            handles[stop].cancel()
            _wait(lambda nxt=nxt: _started_at(handles[nxt]), what=f"{nxt} to start after {stop} stopped")
            time.sleep(0.3)
            started = [n for n in names if _started_at(handles[n])]
            assert started == sorted(started, key=lambda n: _started_at(handles[n]))
            live = [n for n in names if _started_at(handles[n]) and not _ended_at(handles[n])]
            assert len(live) <= 2, live
        for n in "DF":
            handles[n].cancel()
        _wait(lambda: all(h.done for h in handles.values()), what="every run to end")
    finally:
        for h in handles.values():
            h.cancel()
        _wait(lambda: all(h.done for h in handles.values()), timeout=120, what="clean-up")

    order = sorted((n for n in names if _started_at(handles[n])), key=lambda n: _started_at(handles[n]))
    assert order == ["A", "B", "C", "D", "F"], order
    assert _started_at(handles["E"]) is None and not handles["E"].run_dir.exists()
    # Never more than two at once: sweep the real start/end times.
    edges = sorted(
        [(_started_at(handles[n]), 1) for n in order] + [(_ended_at(handles[n]), -1) for n in order],
        key=lambda e: (e[0], e[1]),
    )
    live = peak = 0
    for _, step in edges:
        live += step
        peak = max(peak, live)
    assert peak == 2, peak
    # Each run started only after the run whose slot it took had ended.
    for stop, nxt in {"A": "C", "B": "D", "C": "F"}.items():
        assert _started_at(handles[nxt]) >= _ended_at(handles[stop])
    assert not runner.running()
    print("queue start order:", " ".join(order), "(E cancelled while queued)")
