"""python -m sandbox check|run: one JSON object on stdout, exit 0 / 2."""

import json
import subprocess
import sys

import sbx_helpers


def _cli(*args, timeout=120):
    p = subprocess.run(
        [sys.executable, "-m", "sandbox", *args], cwd=sbx_helpers.REPO, capture_output=True, text=True, timeout=timeout
    )
    return p.returncode, json.loads(p.stdout)


def test_cli_check(tmp_path):
    good = tmp_path / "good.py"
    good.write_text("x = [i * 2 for i in range(3)]\n")
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n")
    code, out = _cli("check", str(good))
    assert code == 0 and out == {"ok": True, "errors": []}
    code, out = _cli("check", str(bad))
    assert code == 0 and not out["ok"] and "Line 1" in out["errors"][0]


def test_cli_bad_arguments(tmp_path):
    code, out = _cli("run", str(tmp_path / "missing.py"), "--workdir", str(tmp_path))
    assert code == 2 and out["error_type"] == "UsageError"
    code, out = _cli("frobnicate")
    assert code == 2 and out["error_type"] == "UsageError"
    f = tmp_path / "a.py"
    f.write_text("x = 1\n")
    code, out = _cli("run", str(f))  # --workdir missing
    assert code == 2


def test_cli_run(tmp_path):
    wd = tmp_path / "wd"
    wd.mkdir()
    ok = tmp_path / "ok.py"
    ok.write_text("import pandas as pd\npd.DataFrame({'a': [1]}).to_csv('o.csv')\nprint('hi')\n")
    bad = tmp_path / "bad.py"
    bad.write_text("open('marker', 'w').write('1')\nimport subprocess\n")
    fail = tmp_path / "fail.py"
    fail.write_text("x = 1 / 0\n")
    for f, expect in ((ok, None), (bad, "PolicyViolation"), (fail, "ZeroDivisionError")):
        code, out = _cli("run", str(f), "--workdir", str(wd), "--timeout", "30", "--memory-mb", "1024")
        assert code == 0
        assert out["error_type"] == expect and out["ok"] == (expect is None)
        for k in ("ok", "error_type", "error", "stdout", "stderr", "duration_s", "isolation"):
            assert k in out
    assert (wd / "o.csv").exists() and not (wd / "marker").exists()
