"""The escape corpus: every attack is rejected by check() or fails inside
run() -- and the side effect it aimed at did not happen."""

import glob
import os
import re

import pytest
import sbx_helpers  # noqa: F401  (puts the repo on sys.path)
from sbx_helpers import HERE

import sandbox

ESCAPES = sorted(glob.glob(os.path.join(HERE, "escapes", "*.py")))
TIMEOUT = 2.0


def test_corpus_size():
    assert len(ESCAPES) >= 30


def _tree_size(root):
    total = 0
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            if not os.path.islink(p):
                total += os.path.getsize(p)
    return total


@pytest.mark.slow
@pytest.mark.parametrize("path", ESCAPES, ids=os.path.basename)
def test_escape_has_no_effect(path, tmp_path, listener, monkeypatch):
    secret = "sk-test-" + os.urandom(8).hex()
    monkeypatch.setenv("SANDBOX_TEST_SECRET", secret)
    workdir = tmp_path / "work"
    workdir.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    canary = outside / "canary.txt"
    canary.write_text("original")
    before = canary.stat()
    (workdir / "etc_link").symlink_to("/etc")
    (workdir / "canary_link").symlink_to(canary)
    code = (
        open(path)
        .read()
        .replace("{CANARY}", str(canary))
        .replace("{CANARY_REL}", str(canary).lstrip("/"))
        .replace("{PORT}", str(listener.port))
    )

    chk = sandbox.check(code)
    ex = sandbox.Executor(workdir, timeout_s=TIMEOUT, memory_mb=1024, max_file_mb=50, max_disk_mb=200)
    res = ex.run(code)

    assert not res.ok, f"escape succeeded: {res}"
    if not chk.ok:
        assert res.error_type == "PolicyViolation"
    m = re.search(r"^# expect-error: (.+)$", code, re.M)
    if m:
        assert res.error_type in [e.strip() for e in m.group(1).split(",")], res
    # side effects: canary untouched, nothing new outside, no connection
    assert canary.read_text() == "original"
    after = canary.stat()
    assert (after.st_mtime_ns, after.st_ino) == (before.st_mtime_ns, before.st_ino)
    assert sorted(os.listdir(outside)) == ["canary.txt"]
    assert listener.connections == 0 and listener.received == b""
    # nothing leaked back
    blob = (res.stdout or "") + (res.stderr or "") + (res.error or "")
    assert secret not in blob
    assert "root:x:0:0" not in blob
    # the run was bounded and left nothing dangerous behind
    assert res.duration_s < TIMEOUT + 8
    assert _tree_size(workdir) < 300 * 1024 * 1024
    for d, dirs, files in os.walk(workdir):
        for n in dirs + files:
            p = os.path.join(d, n)
            assert not os.path.islink(p) or n in ("etc_link", "canary_link")


def test_poisoning_does_not_leak_into_next_run(tmp_path):
    """A run that monkeypatches modules (here via the trusted harness, which
    has full power inside the child) cannot affect the next run."""
    ex = sandbox.Executor(tmp_path, timeout_s=20)
    poison = (
        "import json, pandas as pd\n"
        "json.dumps = lambda *a, **k: 'POISONED'\n"
        "pd.DataFrame.sum = lambda self, *a, **k: 'POISONED'\n"
    )
    r1 = ex.run("x = 1", harness=poison)
    assert r1.ok
    r2 = ex.run(
        "import json\nimport pandas as pd\nprint(json.dumps({'a': 1}), int(pd.DataFrame({'a': [1, 2]}).sum().iloc[0]))"
    )
    assert r2.ok, r2
    assert r2.stdout.strip() == '{"a": 1} 3'
