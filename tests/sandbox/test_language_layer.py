"""The language layer on its own: every escape of the corpus, and every benign
snippet, run through ``sandbox.check`` + ``sandbox.restricted_exec`` in a fresh
process (forked per snippet from a clean, pre-warmed server: lang_runner.py)
with no kernel layer at all -- no namespaces, Landlock, seccomp or audit hook.

Escapes must leave no trace: canary unchanged, nothing new outside the workdir,
no connection to the listener, the planted secret neither printed nor left in
the namespace, no real module / frame / builtin / `type` / globals dict in it.
Resource exhaustion (``# layer: os``) is the kernel layers' job and is left out
here only (test_escape.py runs it through the full Executor)."""

import glob
import json
import os
import re
import subprocess
import sys

import pytest
import sbx_helpers  # noqa: F401  (puts the repo on sys.path)
from sbx_helpers import HERE, write_input_csv

ALL_ESCAPES = sorted(glob.glob(os.path.join(HERE, "escapes", "*.py")))
OS_ONLY = [p for p in ALL_ESCAPES if re.search(r"^# layer: os\b", open(p).read(), re.M)]
ESCAPES = [p for p in ALL_ESCAPES if p not in OS_ONLY]
BENIGN = sorted(glob.glob(os.path.join(HERE, "benign", "*.py")))
# what the language layer leaves to the kernel layers: CPU, memory, disk, inodes
EXPECTED_OS_ONLY = {
    "28_while_true.py",
    "29_memory_bomb.py",
    "30_numpy_memory_bomb.py",
    "31_sleep_forever.py",
    "34_disk_fill.py",
    "36_keyboardinterrupt_swallow.py",
    "68_many_files.py",
}
TIMEOUT = 60


def test_os_only_list_is_small_and_named():
    assert {os.path.basename(p) for p in OS_ONLY} == EXPECTED_OS_ONLY
    assert len(ESCAPES) >= 90


class Runner:
    def __init__(self):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "lang_runner.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={k: v for k, v in os.environ.items() if k != "SANDBOX_TEST_SECRET"},
        )
        assert self.proc.stdout.readline().strip() == "ready"

    def run(self, **req):
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, "language-layer runner died"
        return json.loads(line)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(30)


@pytest.fixture(scope="module")
def runner():
    r = Runner()
    yield r
    r.close()


def _tree(root):
    out = []
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            out.append(os.path.relpath(os.path.join(d, n), root))
    return sorted(out)


@pytest.mark.slow
@pytest.mark.parametrize("path", ESCAPES, ids=os.path.basename)
def test_escape_fails_on_the_language_layer_alone(path, runner, tmp_path, listener):
    secret = "sk-lang-" + os.urandom(8).hex()
    canary_text = "canary-" + os.urandom(6).hex()
    workdir = tmp_path / "work"
    workdir.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    canary = outside / "canary.txt"
    canary.write_text(canary_text)
    (outside / "victimdir").mkdir()
    (outside / "victimdir" / "keep.txt").write_text("keep")
    before = canary.stat()
    outside_before = _tree(outside)
    (workdir / "etc_link").symlink_to("/etc")
    (workdir / "canary_link").symlink_to(canary)
    code = (
        open(path)
        .read()
        .replace("{CANARY}", str(canary))
        .replace("{CANARY_REL}", str(canary).lstrip("/"))
        .replace("{PORT}", str(listener.port))
    )
    log = tmp_path / "log.txt"
    rep = runner.run(
        code=code,
        workdir=str(workdir),
        secret=secret,
        canary_text=canary_text,
        log=str(log),
        timeout=TIMEOUT,
    )
    out = log.read_text(errors="replace") if log.exists() else ""
    assert not rep.get("timed_out"), rep
    m = re.search(r"^# expect-error: (.+)$", code, re.M)
    if m and rep.get("check_ok"):
        assert rep.get("error_type") in [e.strip() for e in m.group(1).split(",")], rep
    # side effects
    assert canary.read_text() == canary_text
    after = canary.stat()
    assert (after.st_mtime_ns, after.st_ino) == (before.st_mtime_ns, before.st_ino)
    assert _tree(outside) == outside_before
    assert listener.connections == 0 and listener.received == b""
    # nothing leaked
    blob = out + json.dumps(rep)
    assert secret not in blob, rep
    assert canary_text not in blob, rep
    assert "root:x:0:0" not in blob
    assert not rep.get("bad"), rep
    assert not rep.get("sentinels"), rep


@pytest.mark.slow
@pytest.mark.parametrize("path", BENIGN, ids=os.path.basename)
def test_benign_runs_on_the_language_layer_alone(path, runner, tmp_path):
    code = open(path).read()
    write_input_csv(tmp_path)
    log = tmp_path.parent / (tmp_path.name + ".log")
    rep = runner.run(
        code=code,
        workdir=str(tmp_path),
        secret="sk-unused",
        canary_text="canary-unused",
        log=str(log),
        timeout=TIMEOUT,
    )
    out = log.read_text(errors="replace") if log.exists() else ""
    assert rep.get("check_ok"), rep
    assert rep.get("ok"), (rep, out[-3000:])
    m = re.search(r"^# expect: (.+)$", code, re.M)
    for name in m.group(1).split(",") if m else []:
        p = tmp_path / name.strip()
        assert p.is_file() and p.stat().st_size > 0, name
        if name.strip().endswith(".png"):
            assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
