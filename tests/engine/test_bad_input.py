"""Bad input through the CLI: one clear message naming the problem, exit 2, no traceback, nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def _frame(n=60, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.choice(["x", "y"], n), "y": rng.choice([0, 1], n)})


def _csv(tmp_path, name, frame=None, raw=None):
    path = tmp_path / name
    if raw is not None:
        path.write_bytes(raw)
    else:
        frame.to_csv(path, index=False)
    return path


CASES = {
    "empty": (lambda t: _csv(t, "e.csv", raw=b""), "empty"),
    "binary": (lambda t: _csv(t, "b.csv", raw=bytes(range(256)) * 40), "binary"),
    "unparseable": (lambda t: _csv(t, "u.csv", raw=b'a,b,y\n1,2,0\n1,2,3,4,5\n"unterminated,1\n'), "could not be read"),
    "duplicate names": (lambda t: _csv(t, "d.csv", raw=b"a,a,y\n" + b"1,2,0\n3,4,1\n" * 20), "Duplicate column"),
    "blank name": (lambda t: _csv(t, "k.csv", raw=b"a, ,y\n" + b"1,2,0\n3,4,1\n" * 20), "blank name"),
    "target missing": (lambda t: _csv(t, "m.csv", _frame()), "not in the table"),
    "constant target": (lambda t: _csv(t, "c.csv", _frame().assign(y=1)), "constant"),
    "all-NaN target": (lambda t: _csv(t, "n.csv", _frame().assign(y=np.nan)), "empty"),
    "single row": (lambda t: _csv(t, "s.csv", _frame(1)), "single data row"),
    "class of one": (lambda t: _csv(t, "o.csv", _frame().assign(y=[0] * 30 + [1] * 29 + [2])), "single row"),
    "all-NaN features": (
        lambda t: _csv(t, "f.csv", pd.DataFrame({"a": [np.nan] * 40, "b": [np.inf] * 40, "y": [0, 1] * 20})),
        "Every feature column is empty",
    ),
    "id as target": (lambda t: _csv(t, "i.csv", _frame(300).assign(y=[f"id{i}" for i in range(300)])), "identifier"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_gets_one_clear_message(case, tmp_path, capsys):
    make, needle = CASES[case]
    path = make(tmp_path)
    target = "zzz" if case == "target missing" else "y"
    out = tmp_path / "out"
    code = main(
        [
            "run",
            str(path),
            "--target",
            target,
            "--time-budget",
            "10",
            "--out",
            str(out),
            "--store",
            str(tmp_path / "s.sqlite"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert needle.lower() in err.lower(), err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    assert not out.exists(), "nothing half-written that looks like a run"


@pytest.mark.slow
def test_bad_input_exit_code_from_a_real_process(tmp_path):
    path = _csv(tmp_path, "e.csv", raw=b"")
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", str(path), "--target", "y"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 2 and proc.stderr.strip() == "error: The file is empty (0 bytes)."
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_mixed_types_and_high_cardinality_text_still_run(tmp_path):
    rng = np.random.default_rng(2)
    n = 120
    frame = pd.DataFrame(
        {
            "mixed": [1, "two", 3.5, None] * (n // 4),
            "free": [f"note {i} {rng.integers(1e9)}" for i in range(n)],
            "x": rng.normal(size=n),
        }
    )
    frame["y"] = (frame["x"] > 0).astype(int)
    path = _csv(tmp_path, "ok.csv", frame)
    code = main(
        [
            "run",
            str(path),
            "--target",
            "y",
            "--time-budget",
            "15",
            "--max-loops",
            "0",
            "--max-trials",
            "2",
            "--out",
            str(tmp_path / "run"),
            "--store",
            str(tmp_path / "s.sqlite"),
        ]
    )
    assert code == 0 and (tmp_path / "run" / "model.joblib").exists()


def test_unwritable_run_dir_or_store_is_a_clear_error(tmp_path, capsys):
    data = _csv(tmp_path, "ok.csv", _frame())
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert (
        main(["run", str(data), "--target", "y", "--out", str(blocker / "run"), "--store", str(tmp_path / "s.sqlite")])
        == 2
    )
    assert "cannot be written" in capsys.readouterr().err
    assert (
        main(["run", str(data), "--target", "y", "--out", str(tmp_path / "run"), "--store", str(blocker / "s.sqlite")])
        == 2
    )
    assert "run store" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
