"""Faults, for real: sandbox children SIGKILLed mid-phase, an LLM provider that is down for the whole
run, a disk that fills up (RLIMIT_FSIZE) and an unwritable runs folder."""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from rel_fixtures import corpus  # noqa: F401  (fixture; sets the runs home first)

from pipeline.engine.execute import execute
from pipeline.engine.prepare import prepare
from pipeline.run.store import RunStore
from pipeline.state import RunConfig
from pipeline.tables.samples import sample_path

pytestmark = pytest.mark.slow  # the whole module runs real pipelines, apps or browsers

ROOT = Path(__file__).resolve().parents[2]
PLANTED = "sk-ant-PLANTED-reliability-0042"


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        for kid in children.get(todo.pop(), []):
            out.append(kid)
            todo.append(kid)
    return out


def test_sandbox_children_killed_mid_phase_the_run_still_ends_cleanly(tmp_path):
    data = sample_path("churn", tmp_path / "samples")
    prepared = prepare(RunConfig(data_path=str(data), brain="offline", time_budget_s=25, max_loops=0, max_trials=4))
    state = prepared.state
    kills: list[tuple[str, int]] = []
    stop = threading.Event()

    def killer() -> None:  # SIGKILL every sandbox process (children and the zygote) while code phases run
        while not stop.is_set():
            if state.current_phase in ("features", "visualizer"):
                for pid in _descendants(os.getpid()):
                    try:
                        os.kill(pid, signal.SIGKILL)
                        kills.append((state.current_phase, pid))
                    except ProcessLookupError:
                        pass
            time.sleep(0.05)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    try:
        final = execute(prepared, tmp_path / "run", RunStore(tmp_path / "s.sqlite"))
    finally:
        stop.set()
        thread.join(5)
    assert {p for p, _ in kills} >= {"features"}, kills
    assert final.status == "finished", final.error
    failed = [e for e in final.code_log if not e.get("ok")]
    assert failed, "the killed snippets are recorded as failed attempts"
    feature_attempts = final.features.attempts
    assert feature_attempts and not feature_attempts[-1].kept, "the killed feature code was not kept"
    assert (tmp_path / "run" / "model.joblib").is_file()
    print(f"sandbox kills: {len(kills)} processes; failed snippets: {len(failed)}")


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again: connections are refused


def test_llm_provider_down_for_the_whole_run_finishes_offline_and_never_writes_the_key(tmp_path):
    data = sample_path("churn", tmp_path / "samples")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC", "OPENAI", "LLM_"))}
    env.update(
        ANTHROPIC_API_KEY=PLANTED,
        ANTHROPIC_BASE_URL=f"http://127.0.0.1:{_dead_port()}",
        LLM_MAX_RETRIES="1",
        LLM_TIMEOUT_S="3",
        OPENBLAS_NUM_THREADS="1",
    )
    run_dir, store = tmp_path / "run", tmp_path / "store.sqlite"
    t0 = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "run",
            str(data),
            "--brain",
            "anthropic",
            "--time-budget",
            "25",
            "--max-loops",
            "0",
            "--out",
            str(run_dir),
            "--store",
            str(store),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    elapsed = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr[-3000:]
    state = json.loads((run_dir / "run.json").read_text())["state"]
    assert state["status"] == "finished"
    fallbacks = (state.get("usage") or {}).get("fallbacks", [])
    notes = " ".join(state["notes"])
    assert fallbacks, (notes, state.get("usage"))
    assert any("unreachable or failing" in f["reason"] for f in fallbacks), "the run says the provider was down"
    assert {f["phase"] for f in fallbacks} >= {"profiler"}, fallbacks
    # The planted key is nowhere the CLI wrote: run dir, store, stdout/stderr.
    hits = [str(p) for p in run_dir.rglob("*") if p.is_file() and PLANTED.encode() in p.read_bytes()]
    hits += [str(p) for p in tmp_path.glob("store.sqlite*") if PLANTED.encode() in p.read_bytes()]
    assert not hits and PLANTED not in proc.stderr + proc.stdout, hits
    print(f"LLM down: finished offline in {elapsed:.1f} s, {len(fallbacks)} fallbacks")


def _limit_file_size(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG, like a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_disk_full_mid_run_gives_a_clear_message_and_an_intact_store(tmp_path):
    data = sample_path("churn", tmp_path / "samples")
    run_dir, store = tmp_path / "run", tmp_path / "store.sqlite"
    RunStore(store)  # created before the disk "fills"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "run",
            str(data),
            "--time-budget",
            "20",
            "--max-loops",
            "0",
            "--out",
            str(run_dir),
            "--store",
            str(store),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        preexec_fn=_limit_file_size(20_000),
        env=dict(os.environ, OPENBLAS_NUM_THREADS="1"),
    )
    assert proc.returncode in (1, 2), proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    last = [ln for ln in proc.stderr.splitlines() if ln.strip()][-1]
    assert last.startswith(("Failed:", "error:")), last
    assert any(word in last.lower() for word in ("too large", "disk", "space", "cannot be")), last
    with sqlite3.connect(store) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = con.execute("SELECT status FROM runs").fetchall()
    assert all(r[0] != "finished" for r in rows), "nothing half-written looks finished"
    if (run_dir / "run.json").exists():
        json.loads((run_dir / "run.json").read_text())  # never a torn run.json
    assert not (run_dir / "model.joblib").exists()
    print("disk full:", last)


def test_unwritable_runs_folder_gives_one_clear_message(tmp_path):
    """Root ignores permission bits, so the runs home is made impossible to create: it sits under a file."""
    data = sample_path("churn", tmp_path / "samples")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the runs folder should be")
    env = dict(os.environ, MLPIPELINE_HOME=str(blocker / "home"))
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", str(data), "--time-budget", "10"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "cannot be" in lines[0], lines
    assert blocker.read_text().startswith("a file"), "nothing overwritten"
