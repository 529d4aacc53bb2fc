"""What the LLM-brain tests share: provider settings for a fake server, and helpers that run the real pipeline
(CLI or in-process) and check what it left behind."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipeline.brains import SETTINGS
from tests.llm.fakes import FakeLLMServer

ROOT = Path(__file__).resolve().parents[2]
PLANTED = "sk-test-PLANTED-123"
LLM_ENV = (*SETTINGS, "PIPELINE_SNIPPET_TIMEOUT_S")  # what a test clears so that the shell cannot leak in


def provider_env(server: FakeLLMServer, key: str = PLANTED, **extra: Any) -> dict[str, str]:
    """Environment pointing the real SDK at a fake server (fast retries, prices known)."""
    prefix = "ANTHROPIC" if server.flavor == "anthropic" else "OPENAI"
    env = {
        f"{prefix}_API_KEY": key,
        f"{prefix}_BASE_URL": server.base_url,
        "LLM_MODEL": server.model,
        "LLM_PRICE_IN_PER_MTOK": "3",
        "LLM_PRICE_OUT_PER_MTOK": "15",
        "LLM_TIMEOUT_S": "10",
        "LLM_MAX_RETRIES": "2",
    }
    env.update({k: str(v) for k, v in extra.items()})
    return env


@dataclass
class RunResult:
    status: str
    run_dir: Path
    store: Path
    state: dict[str, Any]
    usage: dict[str, Any]
    stderr: str = ""

    def code_attempts(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.state["code_log"] if e["kind"] == kind]

    def fallbacks(self, method: str | None = None) -> list[dict[str, Any]]:
        return [f for f in self.usage.get("fallbacks", []) if method is None or f["method"] == method]


def run_cli(data: Path, tmp_path: Path, brain: str, env: dict[str, str], *args: str) -> RunResult:
    """`python -m pipeline run DATA --brain ...` as a subprocess, the way a user runs it."""
    run_dir, store = tmp_path / "run", tmp_path / "store.sqlite"
    full_env = {k: v for k, v in os.environ.items() if k not in LLM_ENV}
    full_env.update(env)
    full_env["PYTHONPATH"] = str(ROOT)
    cmd = [
        sys.executable,
        "-m",
        "pipeline",
        "run",
        str(data),
        "--brain",
        brain,
        "--target",
        "churn",
        "--time-budget",
        # The budget counts from the process's start (imports included), and the plots phase asks the model
        # only while 30 % of it is left: 20 s left too little after imports and three model calls on a busy CI.
        "40",
        "--max-loops",
        "0",
        "--max-trials",
        "4",
        "--out",
        str(run_dir),
        "--store",
        str(store),
        *args,
    ]
    proc = subprocess.run(cmd, cwd=tmp_path, env=full_env, capture_output=True, text=True, timeout=180)
    state = json.loads((run_dir / "run.json").read_text())["state"]
    return RunResult(state["status"], run_dir, store, state, state.get("usage") or {}, proc.stderr)


def run_inprocess(
    data: Path,
    tmp_path: Path,
    brain: str,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    objective: str = "predict churn",
    max_loops: int = 0,
    time_budget: float = 20.0,
    secrets: dict[str, str] | None = None,
) -> RunResult:
    """The same run through `pipeline.engine.prepare` / `execute` (what the app does), faster than a subprocess."""
    from pipeline.engine.execute import execute
    from pipeline.engine.prepare import prepare
    from pipeline.run.store import RunStore
    from pipeline.state import RunConfig

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    run_dir, store_path = tmp_path / "run", tmp_path / "store.sqlite"
    config = RunConfig(
        data_path=str(data),
        target="churn",
        objective=objective,
        brain=brain,
        time_budget_s=time_budget,
        max_loops=max_loops,
        max_trials=4,
    )
    prepared = prepare(config, secrets)
    state = execute(prepared, run_dir, RunStore(store_path))
    data_dict = json.loads((run_dir / "run.json").read_text())["state"]
    assert data_dict["status"] == state.status
    return RunResult(state.status, run_dir, store_path, data_dict, data_dict.get("usage") or {})


def assert_model_predicts(result: RunResult, data: Path) -> None:
    """The final model bundle loads and predicts from raw columns."""
    from pipeline.artifacts.predict import predict_file

    assert result.status == "finished", result.state.get("error")
    assert (result.run_dir / "model.joblib").exists()
    frame = predict_file(str(result.run_dir), str(data))
    assert len(frame) == len(pd.read_csv(data))


def assert_ledger_matches(
    result: RunResult, server: FakeLLMServer, price_in: float = 3.0, price_out: float = 15.0
) -> None:
    """Calls, HTTP requests, tokens and dollars recorded by the run equal what the server did."""
    usage = result.usage
    tokens_in, tokens_out = server.tokens()
    assert usage["total"]["tokens_in"] == tokens_in
    assert usage["total"]["tokens_out"] == tokens_out
    assert usage["total"]["http_requests"] == len(server.log)
    assert sum(c["http_requests"] for c in usage["calls"]) == len(server.log)
    assert usage["total"]["cost_usd"] == pytest.approx((tokens_in * price_in + tokens_out * price_out) / 1e6, abs=1e-7)
    assert sum(p["tokens_in"] for p in usage["phases"].values()) == tokens_in


def grep_everything(result: RunResult, needle: str) -> list[str]:
    """Files of the run dir (and the store, row by row) that contain `needle`."""
    hits = []
    for path in sorted(result.run_dir.rglob("*")) + sorted(result.store.parent.glob(result.store.name + "*")):
        if path.is_file() and needle.encode() in path.read_bytes():
            hits.append(str(path))
    with sqlite3.connect(result.store) as con:
        for row in con.execute("SELECT * FROM runs"):
            if needle in json.dumps(list(row), default=str):
                hits.append("store row " + str(row[0]))
    return hits
