"""Every file of the bad-input corpus through the CLI: a finished run (exit 0) or exactly one
`error:` line naming the problem (exit 2). Never a traceback, never a hang, nothing half-written.

Most files go through `pipeline.cli.main.main` in-process (the sandbox zygote stays warm); a few go
through a real `python -m pipeline` subprocess with a hard timeout.
"""

from __future__ import annotations

import faulthandler
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from make_bad_files import CASES
from rel_fixtures import corpus  # noqa: F401  (fixture; sets the runs home first)

from pipeline.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
NAMES = [c.name for c in CASES]


def _args(case, path: Path, out: Path, store: Path, budget: str = "6") -> list[str]:
    args = ["run", str(path), "--time-budget", budget, "--max-loops", "0", "--out", str(out), "--store", str(store)]
    return args + (["--target", case.target] if case.target else [])


def _check_outcome(case, rc: int, err: str, out: Path) -> None:
    assert "Traceback" not in err, err[-2000:]
    if case.expect == "ok":
        assert rc == 0, err[-2000:]
        saved = json.loads((out / "run.json").read_text())
        assert saved["status"] == "finished"
        assert (out / "model.joblib").is_file() and (out / "metrics.json").is_file()
        metrics = json.loads((out / "metrics.json").read_text())
        assert np.isfinite(metrics["cv"][metrics["metric"]])
    else:
        assert rc == 2, err[-2000:]
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), err
        assert case.expect in lines[0].lower(), lines[0]
        assert not out.exists(), "nothing half-written that looks like a run"


def test_corpus_has_at_least_40_files(corpus):
    assert len(corpus) >= 40
    assert sum(1 for c, _ in corpus if c.expect == "ok") >= 15, "hostile-but-valid files must run, not only fail"


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_cli_in_process(name, corpus, tmp_path, capsys):
    case, path = next((c, p) for c, p in corpus if c.name == name)
    out = tmp_path / "run"
    faulthandler.dump_traceback_later(
        180, exit=True, file=sys.__stderr__
    )  # a hang fails the suite instead of blocking it
    t0 = time.monotonic()
    try:
        rc = main(_args(case, path, out, tmp_path / "store.sqlite"))
    finally:
        faulthandler.cancel_dump_traceback_later()
    elapsed = time.monotonic() - t0
    captured = capsys.readouterr()
    _check_outcome(case, rc, captured.err, out)
    if case.expect != "ok":
        assert elapsed < 10, f"refusing {name} took {elapsed:.1f} s"
        return
    assert elapsed < 60, f"a 6 s budget run took {elapsed:.1f} s"
    X = pd.read_parquet(out / "data" / "train_X.parquet")
    if name == "thousands_and_units.csv":
        for col in ("income", "weight", "price", "share"):
            assert pd.api.types.is_numeric_dtype(X[col]), (col, X[col].dtype)
        assert X["income"].min() >= 1000
    if name == "inf_and_1e308.csv":
        for col in ("a", "big"):
            values = X[col].to_numpy(dtype=float)
            assert not np.isinf(values).any()
    if name == "parquet_nested.parquet":
        assert X["tags"].map(lambda v: isinstance(v, str) and v.startswith("[")).all()
    if name in (
        "html_js_names.csv",
        "prompt_injection.csv",
        "keyword_names.csv",
        "quote_names.csv",
        "newline_names.csv",
    ):
        state = json.loads((out / "run.json").read_text())["state"]
        names = [c["name"] for c in state["profile"]["columns"]]
        assert set(X.columns) <= set(names) | {"y"}, "hostile names are carried verbatim, not mangled"
    if name == "excel_sheets_merged.xlsx":
        assert len(X) + len(pd.read_parquet(out / "data" / "holdout_X.parquet")) == 80, "the first sheet with data"


@pytest.mark.parametrize(
    "name,budget",
    [("binary.csv", "15"), ("one_line_100mb.csv", "15"), ("zip_bomb.xlsx", "15"), ("html_js_names.csv", "15")],
)
@pytest.mark.slow
def test_cli_real_subprocess(name, budget, corpus, tmp_path):
    case, path = next((c, p) for c, p in corpus if c.name == name)
    out = tmp_path / "run"
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", *_args(case, path, out, tmp_path / "s.sqlite", budget)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=150,
    )
    elapsed = time.monotonic() - t0
    if case.expect == "ok":
        assert proc.stdout.strip().splitlines()[-1] == str(out)
    _check_outcome(case, proc.returncode, proc.stderr, out)
    if case.expect != "ok":
        assert elapsed < 30, f"refusing {name} took {elapsed:.1f} s (imports included)"
