"""Shared fixtures for the app tests.

All AppTest runs in this process share one Runner (st.cache_resource is process-wide), so the runs
home is fixed for the whole session before any page is imported.
"""
from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HOME = Path(tempfile.mkdtemp(prefix="mlp-apptest-"))
atexit.register(shutil.rmtree, HOME, True)
os.environ["MLPIPELINE_HOME"] = str(HOME)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def home() -> Path:
    return HOME


@pytest.fixture(scope="session")
def finished_run(home: Path) -> dict:  # noqa: D401
    """A real finished run made once per session by the CLI (wine, multiclass, short budget)."""
    from pipeline.samples import sample_path

    data = sample_path("wine", home / "samples")
    env = dict(os.environ, MLPIPELINE_HOME=str(home))
    proc = subprocess.run([sys.executable, "-m", "pipeline", "run", str(data), "--target", "cultivar",
                           "--time-budget", "12", "--max-loops", "1"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dir = Path(proc.stdout.strip().splitlines()[-1])
    assert (run_dir / "model.joblib").is_file()
    return {"run_id": run_dir.name, "run_dir": run_dir, "data": data}


def app_test(timeout: float = 60):
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)


@pytest.fixture(autouse=True)
def _no_run_outlives_its_test():
    """All tests share one Runner: a run a failed test left waiting (at a gate, say) would hold a slot and fail
    the next test that counts slots, hiding which test really failed."""
    yield
    import time

    from app_pages import components as C

    live = C.get_runner().running()
    for handle in live:
        handle.cancel()
    deadline = time.time() + 60
    while any(not h.done for h in live) and time.time() < deadline:
        time.sleep(0.2)
