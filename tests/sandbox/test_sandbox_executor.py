"""API contract of sandbox.check / Executor / restricted_exec."""

import os
import threading
import time

import pytest
import sbx_helpers  # noqa: F401

import sandbox
from sandbox import executor as executor_mod

SMALL = (
    "import pandas as pd\n"
    "df = pd.DataFrame({'a': [1, 2, 3], 'b': [4, 5, 6]})\n"
    "df['c'] = df['a'] / df['b']\n"
    "print(round(float(df['c'].sum()), 2))\n"
)


def test_check_reports_line_numbers():
    res = sandbox.check("x = 1\ny = ().__class__\nimport os\n")
    assert not res.ok
    assert any("Line 2" in e for e in res.errors)
    assert any("Line 3" in e and "os" in e for e in res.errors)
    assert sandbox.check(SMALL).ok
    assert not sandbox.check("def f(:\n").ok


def test_run_small_snippet(tmp_path):
    r = sandbox.Executor(tmp_path, timeout_s=30).run(SMALL)
    assert r.ok, r
    assert r.stdout.strip() == "1.15"
    assert r.error_type is None and r.duration_s > 0
    assert r.isolation.startswith("zygote")
    assert "audithook" in r.isolation and "rlimits" in r.isolation


def test_policy_violation_executes_nothing(tmp_path):
    code = "open('marker.txt', 'w').write('ran')\nimport os\n"
    r = sandbox.Executor(tmp_path).run(code)
    assert not r.ok and r.error_type == "PolicyViolation"
    assert "Line 2" in r.error
    assert not (tmp_path / "marker.txt").exists()


def test_harness_gets_user_namespace_and_does_io(tmp_path):
    import pandas as pd

    pd.DataFrame({"a": [1.0, 2.0], "b": [2.0, 4.0]}).to_parquet(tmp_path / "input.parquet")
    code = "def transform(df):\n    df['ratio'] = df['a'] / df['b']\n    df['a'] += 1\n    return df\n"
    harness = (
        "import pandas as pd\n"
        "df = pd.read_parquet('input.parquet')\n"
        "out = user['transform'](df.copy())\n"
        "out.to_parquet('output.parquet')\n"
    )
    r = sandbox.Executor(tmp_path).run(code, harness=harness)
    assert r.ok, r
    out = pd.read_parquet(tmp_path / "output.parquet")
    assert out["ratio"].tolist() == [0.5, 0.5] and out["a"].tolist() == [2.0, 3.0]


def test_untrusted_functions_stay_restricted_under_harness(tmp_path):
    code = "def sneaky():\n    return getattr((), '__cla' + 'ss__')\n"
    harness = "user['sneaky']()\nopen('reached.txt', 'w').write('1')\n"
    r = sandbox.Executor(tmp_path).run(code, harness=harness)
    assert not r.ok and r.error_type == "PolicyViolation"
    assert not (tmp_path / "reached.txt").exists()


def test_harness_exception_reported(tmp_path):
    r = sandbox.Executor(tmp_path).run("x = 1", harness="raise KeyError('nope')")
    assert not r.ok and r.error_type == "KeyError" and "nope" in r.error


def test_user_error_type_line_and_no_host_paths(tmp_path):
    code = "import pandas as pd\nx = 1\npd.read_csv('missing.csv')\n"
    r = sandbox.Executor(tmp_path).run(code)
    assert not r.ok and r.error_type == "FileNotFoundError"
    assert "line 3" in r.error
    assert str(tmp_path) not in r.error and str(tmp_path) not in r.stderr
    import sys

    assert sys.prefix not in r.stderr


def test_stdout_is_capped(tmp_path):
    r = sandbox.Executor(tmp_path).run("for i in range(200000):\n    print('x' * 20)\n")
    assert r.ok and r.stdout_truncated
    assert len(r.stdout) <= executor_mod.STDOUT_CAP + 100


def test_cancel_from_another_thread(tmp_path):
    ex = sandbox.Executor(tmp_path, timeout_s=60)
    out = {}
    t = threading.Thread(
        target=lambda: out.setdefault("r", ex.run("open('started', 'w').write('1')\nwhile True:\n    pass\n"))
    )
    t.start()
    for _ in range(200):
        if (tmp_path / "started").exists():
            break
        time.sleep(0.02)
    ex.cancel()
    t.join(10)
    r = out["r"]
    assert not r.ok and r.error_type == "Cancelled" and r.cancelled
    assert r.duration_s < 10


def test_parallel_runs_from_threads(tmp_path):
    results = [None] * 6

    def work(i):
        wd = tmp_path / f"w{i}"
        results[i] = sandbox.Executor(wd, timeout_s=60).run(SMALL + f"open('out.txt', 'w').write('{i}')\n")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for i, r in enumerate(results):
        assert r is not None and r.ok, r
        assert (tmp_path / f"w{i}" / "out.txt").read_text() == str(i)


def test_fallback_subprocess_mode(tmp_path):
    r = sandbox.Executor(tmp_path, timeout_s=60, use_zygote=False).run(SMALL)
    assert r.ok, r
    assert r.isolation.startswith("subprocess") and r.stdout.strip() == "1.15"


@pytest.mark.slow
def test_zygote_restarts_after_dying(tmp_path):
    proc = executor_mod._ZYGOTE.proc
    assert proc is not None and proc.poll() is None
    proc.kill()
    proc.wait(5)
    r = sandbox.Executor(tmp_path, timeout_s=60).run(SMALL)
    assert r.ok, r
    assert r.isolation.startswith("zygote")
    assert executor_mod._ZYGOTE.proc.pid != proc.pid


def test_restricted_exec_in_process(tmp_path):
    ns = sandbox.restricted_exec(
        "def transform(df):\n    df['b'] = df['a'] * 2\n    return df\n", workdir=str(tmp_path)
    )
    import pandas as pd

    out = ns["transform"](pd.DataFrame({"a": [1, 2]}))
    assert out["b"].tolist() == [2, 4]
    with pytest.raises(sandbox.PolicyError) as ei:
        sandbox.restricted_exec("import os")
    assert ei.value.errors and "Line 1" in ei.value.errors[0]
    ns = sandbox.restricted_exec("def f(x):\n    return getattr(x, '__cla' + 'ss__')\n")
    with pytest.raises(sandbox.PolicyViolation):
        ns["f"](1)
    ns = sandbox.restricted_exec("def g():\n    return open('/etc/passwd').read()\n", workdir=str(tmp_path))
    with pytest.raises(sandbox.PolicyViolation):
        ns["g"]()
    # without a workdir (the in-process predict path) there is no file access at all
    (tmp_path / "local.txt").write_text("secret-ish")
    ns = sandbox.restricted_exec(
        "import pandas as pd\n"
        "def h():\n    return open('local.txt').read()\n"
        "def k():\n    return pd.read_csv('local.txt')\n"
    )
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        for fn in ("h", "k"):
            with pytest.raises(sandbox.PolicyViolation):
                ns[fn]()
    finally:
        os.chdir(cwd)
    ns = sandbox.restricted_exec(
        "import numpy as np\ndef s(a):\n    np.savetxt('a.txt', a, '%d', ',')\n", workdir=str(tmp_path)
    )
    import numpy as np

    ns["s"](np.array([[1, 2]]))
    assert (tmp_path / "a.txt").read_text().strip() == "1,2"


def test_policy_allows_everyday_data_science():
    code = (
        "import pandas as pd\nimport numpy as np\n"
        "df = pd.DataFrame({'a': [1, 2, 3], 'b': [1, 0, 2], 'x': [5, 6, 7]})\n"
        "df['ratio'] = df['a'] / df['b']\n"
        "df.loc[df['a'] > 1, 'x'] = 0\n"
        "df['a'] += 1\n"
        "df.loc[:, 'b'] *= 2\n"
        "df.columns = [c.upper() for c in df.columns]\n"
        "arr = np.zeros(3)\narr[0] = 1\narr[1:] += 2\n"
        "d = {}\nd['k'] = 1\nd['k'] += 1\n"
        "class H:\n    def __init__(self):\n        self.n = 0\n"
        "    def inc(self):\n        self.n += 1\n        return self.n\n"
        "h = H()\nh.inc()\n"
        "w = np.where(df['A'] > 2, 'hi', 'lo')\n"
        's = f"{len(df)} rows"\n'
    )
    ns = sandbox.restricted_exec(code)
    assert ns["df"]["X"].tolist() == [5, 0, 0]
    assert ns["df"]["A"].tolist() == [2, 3, 4]
    assert ns["arr"].tolist() == [1.0, 2.0, 2.0] and ns["d"]["k"] == 2
    assert ns["h"].n == 1 and ns["s"] == "3 rows"


def test_write_guard_keeps_modules_classes_functions_read_only():
    for code in (
        "import pandas as pd\npd.DataFrame.sum = 1\n",
        "import json\njson.dumps = 1\n",
        "def f():\n    pass\nf.x = 1\n",
        "import math\nsetattr(math, 'pi', 3)\n",
    ):
        with pytest.raises(sandbox.PolicyViolation):
            sandbox.restricted_exec(code)


def test_unclosed_files_are_flushed(tmp_path):
    r = sandbox.Executor(tmp_path).run("f = open('unclosed.txt', 'w')\nf.write('data' * 1000)\n")
    assert r.ok, r
    assert (tmp_path / "unclosed.txt").read_text() == "data" * 1000


def test_no_thread_outlives_the_run(tmp_path):
    """run() returns only when nothing in the child can still write."""
    harness = (
        "import threading, time\n"
        "def spam():\n"
        "    i = 0\n"
        "    while True:\n"
        "        i += 1\n"
        "        open('late.txt', 'w').write(str(i))\n"
        "threading.Thread(target=spam, daemon=True).start()\n"
        "time.sleep(0.2)\n"
    )
    r = sandbox.Executor(tmp_path).run("x = 1", harness=harness)
    assert r.ok, r
    first = (tmp_path / "late.txt").read_text()
    time.sleep(0.3)
    assert (tmp_path / "late.txt").read_text() == first


def test_oversized_and_hostile_sources_are_rejected_quickly():
    t = time.perf_counter()
    assert not sandbox.check("x = 1\n" * 400_000).ok
    assert not sandbox.check("x = " + "(" * 5000 + ")" * 5000).ok
    res = sandbox.check("\n".join(f"a{i} = ().__class__" for i in range(500)))
    assert not res.ok and len(res.errors) <= sandbox.policy.MAX_ERRORS + 1
    assert time.perf_counter() - t < 10


def test_falls_back_to_subprocess_when_the_zygote_cannot_start(tmp_path, monkeypatch):
    z = executor_mod._ZYGOTE
    old_proc, old_master = z.proc, z.master

    def boom():
        raise RuntimeError("no zygote here")

    monkeypatch.setattr(z, "_start", boom)
    monkeypatch.setattr(z, "alive", lambda: False)
    monkeypatch.setattr(z, "_kill", lambda: None)
    try:
        r = sandbox.Executor(tmp_path, timeout_s=60).run(SMALL)
    finally:
        z.failed_at = None
        z.proc, z.master = old_proc, old_master
    assert r.ok, r
    assert r.isolation.startswith("subprocess")
    assert "audithook" in r.isolation
