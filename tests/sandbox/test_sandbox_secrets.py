"""A secret in the environment of the process that calls Executor is not
readable from the child: not via os.environ, /proc/self/environ,
/proc/<zygote>/environ nor /proc/<caller>/environ."""

import json
import os
import subprocess
import sys
import time

import pytest
import sbx_helpers

pytestmark = pytest.mark.slow  # the whole module runs real pipelines, apps or browsers

HARNESS = r"""
import os, json
found = {}
def grab(name, fn):
    try:
        found[name] = fn()
    except BaseException as e:
        found[name] = "denied: " + type(e).__name__
grab("os.environ", lambda: dict(os.environ))
grab("self_environ", lambda: open("/proc/self/environ", "rb").read().decode("latin-1"))
grab("zygote_environ", lambda: open(f"/proc/{os.getppid()}/environ", "rb").read().decode("latin-1"))
grab("caller_environ", lambda: open("/proc/CALLER/environ", "rb").read().decode("latin-1"))
grab("sleeper_environ", lambda: open("/proc/SLEEPER/environ", "rb").read().decode("latin-1"))
grab("proc_scan", lambda: [open(f"/proc/{p}/environ", "rb").read().decode("latin-1")
                           for p in os.listdir("/proc") if p.isdigit()])
open("found.json", "w").write(json.dumps(found, default=str))
print(json.dumps(found, default=str))
"""

CALLER = r"""
import json, os, sys
sys.path.insert(0, sys.argv[1])
import sandbox
harness = sys.argv[3].replace("CALLER", str(os.getpid()))
out = {}
for mode in (True, False):
    r = sandbox.Executor(sys.argv[2] + ("/z" if mode else "/s"), timeout_s=60,
                         use_zygote=mode).run("x = 1", harness=harness)
    out["zygote" if mode else "subprocess"] = r.to_dict()
print(json.dumps(out))
"""


def test_parent_secret_unreadable(tmp_path):
    secret = "sk-live-" + os.urandom(12).hex()
    env = dict(os.environ, SANDBOX_SECRET_TOKEN=secret)
    # a sibling process holding the secret: its environ must be readable by
    # us (positive control) and unreadable from the sandbox
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], env=env)
    try:
        time.sleep(0.1)
        with open(f"/proc/{sleeper.pid}/environ", "rb") as f:
            assert secret.encode() in f.read()
        harness = HARNESS.replace("SLEEPER", str(sleeper.pid))
        proc = subprocess.run(
            [sys.executable, "-c", CALLER, sbx_helpers.REPO, str(tmp_path), harness],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
    finally:
        sleeper.kill()
        sleeper.wait()
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    for mode, r in out.items():
        assert r["ok"], (mode, r)
        assert secret not in r["stdout"] and secret not in r["stderr"]
        found = json.loads(r["stdout"].strip().splitlines()[-1])
        assert "SANDBOX_SECRET_TOKEN" not in found["os.environ"]
        assert secret not in found["self_environ"]
        for k in ("zygote_environ", "caller_environ", "sleeper_environ", "proc_scan"):
            assert str(found[k]).startswith("denied"), (mode, k, found[k])
    for d, _, files in os.walk(tmp_path):
        for f in files:
            with open(os.path.join(d, f), "rb") as fh:
                assert secret.encode() not in fh.read()
