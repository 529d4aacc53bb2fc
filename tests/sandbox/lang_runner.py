"""Runs snippets against the language layer ALONE (``sandbox.check`` then
``sandbox.restricted_exec``), with no kernel layer, for test_language_layer.py.

Started once per test session as a plain subprocess: it imports the heavy
libraries, then for each request (one JSON line on stdin) forks a fresh child
that plants the secret in its environment, runs the snippet with its stdout and
stderr in a log file, inspects the namespace it leaves, and reports on a pipe.
The server itself never runs untrusted code, so every snippet starts from the
same clean state.  Answers are JSON lines on stdout.
"""

import builtins
import json
import os
import select
import signal
import sys
import time
import types

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO)
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_v] = "1"
os.environ["MPLBACKEND"] = "Agg"

import sandbox  # noqa: E402

_REAL_BUILTINS = {id(getattr(builtins, n)) for n in ("eval", "exec", "compile", "__import__", "open", "getattr")}
_SENTINEL_MODULES = ("this", "antigravity", "webbrowser")


def _bad_values(ns, secret, canary_text):
    bad = []

    def look(k, v, depth=0):
        if isinstance(v, types.ModuleType):
            bad.append(f"{k}: real module {v.__name__}")
        elif isinstance(v, (types.FrameType, types.CodeType, types.TracebackType)):
            bad.append(f"{k}: frame/code/traceback")
        elif id(v) in _REAL_BUILTINS:
            bad.append(f"{k}: real builtin")
        elif v is type:
            bad.append(f"{k}: the real type")
        elif isinstance(v, dict) and "__builtins__" in v:
            bad.append(f"{k}: a module/function globals dict")
        try:
            r = repr(v)
        except Exception:  # noqa: BLE001
            r = ""
        if secret in r:
            bad.append(f"{k}: holds the secret")
        if canary_text in r:
            bad.append(f"{k}: holds the canary's content")
        if depth < 2 and isinstance(v, (list, tuple, set, frozenset)):
            for i, x in enumerate(list(v)[:50]):
                look(f"{k}[{i}]", x, depth + 1)
        elif depth < 2 and isinstance(v, dict):
            for kk, x in list(v.items())[:50]:
                look(f"{k}[{kk!r}]", x, depth + 1)

    for k, v in ns.items():
        look(k, v)
    return bad


def _child(req):
    os.environ["SANDBOX_TEST_SECRET"] = req["secret"]
    os.chdir(req["workdir"])
    code = req["code"]
    chk = sandbox.check(code)
    rep = {"check_ok": chk.ok, "check_errors": chk.errors[:3]}
    if not chk.ok:
        return rep
    ns = None
    try:
        ns = sandbox.restricted_exec(code, workdir=req["workdir"])
        rep["ok"] = True
    except BaseException as e:  # noqa: BLE001 - report everything
        rep["ok"] = False
        rep["error_type"] = type(e).__name__
        rep["error"] = str(e)[:1000]
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:  # noqa: BLE001
        pass
    rep["bad"] = _bad_values(sandbox.policy.user_namespace(ns), req["secret"], req["canary_text"]) if ns else []
    rep["sentinels"] = [m for m in _SENTINEL_MODULES if m in sys.modules]
    return rep


def _run(req):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        rep = {}
        try:
            fd = os.open(req["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            sys.stdin = open(os.devnull)
            rep = _child(req)
        except BaseException as e:  # noqa: BLE001
            rep = {"crash": repr(e)[:500]}
        try:
            os.write(w, json.dumps(rep, default=str).encode())
        finally:
            os._exit(0)
    os.close(w)
    data = b""
    deadline = time.monotonic() + req["timeout"]
    timed_out = False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([r], [], [], left)
        if not ready:
            continue
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
    if timed_out:
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    os.close(r)
    try:
        rep = json.loads(data.decode()) if data else {"crash": "no report"}
    except ValueError:
        rep = {"crash": "bad report"}
    rep["timed_out"] = timed_out
    return rep


def main():
    import lightgbm  # noqa: F401
    import matplotlib
    import numpy  # noqa: F401
    import pandas  # noqa: F401
    import scipy.sparse  # noqa: F401
    import scipy.stats  # noqa: F401
    import sklearn.ensemble  # noqa: F401
    import sklearn.model_selection  # noqa: F401

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    import seaborn  # noqa: F401

    sys.stdout.write("ready\n")
    sys.stdout.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        rep = _run(json.loads(line))
        sys.stdout.write(json.dumps(rep) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
