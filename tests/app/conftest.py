"""Fixtures for the app tests (the helpers they import are in app_support.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from app_support import HOME, ROOT


@pytest.fixture(scope="session")
def home() -> Path:
    return HOME


@pytest.fixture(scope="session")
def finished_run(home: Path) -> dict:  # noqa: D401
    """A real finished run made once per session by the CLI (wine, multiclass, short budget)."""
    from pipeline.tables.samples import sample_path

    data = sample_path("wine", home / "samples")
    env = dict(os.environ, MLPIPELINE_HOME=str(home))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "run",
            str(data),
            "--target",
            "cultivar",
            "--time-budget",
            "12",
            "--max-loops",
            "1",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dir = Path(proc.stdout.strip().splitlines()[-1])
    assert (run_dir / "model.joblib").is_file()
    return {"run_id": run_dir.name, "run_dir": run_dir, "data": data}


@pytest.fixture(autouse=True)
def _no_run_outlives_its_test():
    """All tests share one Runner: a run a failed test left waiting (at a gate, say) would hold a slot and fail
    the next test that counts slots, hiding which test really failed."""
    yield
    import time

    from ui.runner import get_runner

    live = get_runner().running()
    for handle in live:
        handle.cancel()
    deadline = time.time() + 60
    while any(not h.done for h in live) and time.time() < deadline:
        time.sleep(0.2)
