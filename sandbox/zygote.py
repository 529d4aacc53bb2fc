"""The zygote: a clean, pre-warmed parent that forks one fresh child per run.

It is started by :mod:`sandbox.executor` as a separate process
(``python -I -B -c ...``) with a minimal environment -- never forked from the
caller, which has threads and secrets.  It imports the heavy libraries once,
runs a warm-up workload so lazy imports are done, then serves requests over
a private socketpair:

* master socket (SOCK_SEQPACKET, inherited fd): each message carries, via
  SCM_RIGHTS, a per-run connection plus the stdout/stderr/result pipes;
* per-run connection (SOCK_STREAM): the caller sends a length-prefixed JSON
  request and may send ``K`` (kill) or close it (cancel); the zygote answers
  ``{"pid": ...}`` and, after reaping, ``{"exit": ..., "timeout": ...}``.

To hide fork latency the zygote keeps two *spare* children already forked,
already in their new user+network namespace, with the Landlock read rules and
the seccomp program prepared; the request is handed to a ready spare, which
then applies the request-specific layers (rlimits, Landlock workdir rule,
seccomp, env, cwd) and runs.  A spare serves exactly one request and exits;
nothing is ever reused.  Spares are re-forked right after a run ends, not
while one runs: measured here, a fork (page-table copy) or a spare warm-up
next to a running child roughly doubles the child's latency, so there is no
"pre-touch" warm-up in the spare either.

The zygote enforces the wall-clock timeout itself (SIGKILL to the child's
process group) and exits when the caller's end of the master socket closes.
"""

from __future__ import annotations

import gc
import json
import os
import selectors
import signal
import socket
import struct
import sys
import time

HEAVY_MODULES = (
    "numpy",
    "pandas",
    "pyarrow",
    "pyarrow.parquet",
    "sklearn",
    "lightgbm",
    "matplotlib",
    "seaborn",
    "scipy",
)


def warm_up() -> None:
    """Import and exercise the libraries so children start hot."""
    import importlib
    import io

    for m in HEAVY_MODULES:
        try:
            importlib.import_module(m)
        except Exception:  # noqa: BLE001 - optional libraries
            pass
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np
        import pandas as pd
        import seaborn as sns

        for m in (
            "sklearn.linear_model",
            "sklearn.ensemble",
            "sklearn.model_selection",
            "sklearn.preprocessing",
            "sklearn.metrics",
            "sklearn.pipeline",
            "sklearn.compose",
            "sklearn.impute",
            "sklearn.tree",
            "sklearn.cluster",
            "sklearn.decomposition",
            "scipy.stats",
        ):
            try:
                importlib.import_module(m)
            except Exception:  # noqa: BLE001
                pass
        df = pd.DataFrame(
            {
                "a": np.arange(50),
                "b": np.arange(50) % 3,
                "s": ["x", "y"] * 25,
                "t": pd.date_range("2020-01-01", periods=50),
            }
        )
        df["r"] = df["a"] / (df["b"] + 1)
        df.loc[df["a"] > 3, "r"] = 0
        df.groupby("b")["a"].agg(["mean", "sum"])
        df.groupby("s")["a"].transform(lambda s: s - s.mean())
        df["t"].dt.year  # noqa: B018  (the accessor is imported and set up on first use)
        df["s"].str.upper()
        pd.to_datetime(["2020-01-01"])
        buf = io.BytesIO()
        df.to_parquet(buf)
        buf.seek(0)
        pd.read_parquet(buf)
        df.to_csv(io.StringIO())
        df.describe()
        fig, ax = plt.subplots()
        sns.histplot(df["a"], ax=ax)
        fig.savefig(io.BytesIO(), format="png", dpi=50)
        plt.close("all")
        from sklearn.linear_model import LogisticRegression

        LogisticRegression().fit(df[["a", "b"]], df["b"] > 0).predict(df[["a", "b"]])
        import lightgbm as lgb

        lgb.LGBMClassifier(n_estimators=2, verbose=-1).fit(df[["a", "b"]], df["b"] > 0).predict(df[["a", "b"]])
    except Exception as e:  # noqa: BLE001
        print(f"zygote warm-up: {type(e).__name__}: {e}", file=sys.stderr)


def _recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return bytes(buf)


def kill_group(pid: int) -> None:
    """SIGKILL a child's process group (a run's PID-namespace parent and the code under it), else the child."""
    for fn in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            fn()
        except OSError:
            pass


def reaped(wake_fd: int):
    """Drain the SIGCHLD wake-up pipe, then yield (pid, status) of every child that has ended."""
    try:
        while os.read(wake_fd, 512):
            pass
    except OSError:
        pass
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        yield pid, status


class Zygote:
    def __init__(self, master: socket.socket, spares: int = 1):
        self.master = master
        self.n_spares = spares
        self.spares: list[tuple[int, socket.socket]] = []
        self.runs: dict[int, dict] = {}  # pid -> run
        self.ready: set = set()
        self._refill_due = True
        self.sel = selectors.DefaultSelector()
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)

    # ----------------------------------------------------------- spares
    def make_spare(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pid = os.fork()
        if pid == 0:  # ---------------- spare child
            try:
                keep = theirs.fileno()
                os.closerange(3, keep)
                os.closerange(keep + 1, 1 << 16)
                os.setsid()
                from . import oslayer

                oslayer._libc.prctl(oslayer.PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
                if os.getppid() == 1:
                    os._exit(0)
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                netns = oslayer.unshare_net()
                if netns and oslayer.enter_pid_namespace():  # from here on, PID 1 of a namespace of its own
                    netns += "+pidns"
                mpl = os.environ.get("MPLCONFIGDIR")
                prep = oslayer.Prepared((mpl,) if mpl else ())
                self._serve_one(theirs, netns, prep)
            finally:
                os._exit(72)
        theirs.close()
        self.spares.append((pid, ours))

    @staticmethod
    def _serve_one(sock: socket.socket, netns, prep) -> None:
        from . import child

        try:
            sock.send(b"R")  # ready: warmed up and prepared
        except OSError:
            pass  # the request may already be queued and our peer closed
        msg, fds, _flags, _addr = socket.recv_fds(sock, 4, 3)
        if len(msg) < 4 or len(fds) != 3:
            os._exit(0)
        (n,) = struct.unpack("!I", msg)
        req = json.loads(_recv_exact(sock, n).decode("utf-8"))
        keep = prep.keep_fds()
        if any(k in (0, 1, 2, child.RESULT_FD) for k in keep):
            prep = None
            keep = []
        child.redirect_fds(*fds, keep=keep)
        child.run_request(req, netns, prep)

    # ----------------------------------------------------------- requests
    def on_master(self) -> None:
        try:
            msg, fds, _f, _a = socket.recv_fds(self.master, 16, 4)
        except OSError:
            msg, fds = b"", []
        if not msg:
            self.shutdown()
        if len(fds) != 4:
            for fd in fds:
                os.close(fd)
            return
        conn = socket.socket(fileno=fds[0])
        pipes = fds[1:]
        try:
            conn.settimeout(10)
            (n,) = struct.unpack("!I", _recv_exact(conn, 4))
            body = _recv_exact(conn, n)
            req = json.loads(body.decode("utf-8"))
            conn.settimeout(None)
        except Exception:  # noqa: BLE001
            for fd in pipes:
                os.close(fd)
            conn.close()
            return
        if not self.spares:
            self.make_spare()
        pid, spare_sock = self.spares.pop(self._pick_spare())
        try:
            socket.send_fds(spare_sock, [struct.pack("!I", len(body))], pipes)
            spare_sock.sendall(body)
        except OSError:
            pass
        finally:
            self.ready.discard(spare_sock)
            spare_sock.close()
            for fd in pipes:
                os.close(fd)
        run = {
            "pid": pid,
            "conn": conn,
            "timeout": False,
            "cancelled": False,
            "deadline": time.monotonic() + float(req["timeout_s"]),
        }
        self.runs[pid] = run
        self.sel.register(conn, selectors.EVENT_READ, ("conn", pid))
        self._send(run, {"pid": pid})

    def _pick_spare(self) -> int:
        """Index of a spare that said it is ready, else the oldest one."""
        for i, (_pid, sock) in enumerate(self.spares):
            if sock in self.ready:
                return i
            try:
                if sock.recv(1, socket.MSG_DONTWAIT) == b"R":
                    self.ready.add(sock)
                    return i
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                continue
        return 0

    def _send(self, run, msg) -> None:
        try:
            run["conn"].sendall((json.dumps(msg) + "\n").encode())
        except OSError:
            pass

    @staticmethod
    def kill(pid: int) -> None:
        kill_group(pid)

    def on_conn(self, pid: int) -> None:
        run = self.runs.get(pid)
        if run is None:
            return
        try:
            data = run["conn"].recv(64)
        except OSError:
            data = b""
        if not data:
            self.sel.unregister(run["conn"])
            run["cancelled"] = True
            self.kill(pid)
        elif b"K" in data:
            run["cancelled"] = True
            self.kill(pid)

    def reap(self) -> None:
        for pid, status in reaped(self.wake_r):
            self.spares = [(p, s) for p, s in self.spares if p != pid]
            run = self.runs.pop(pid, None)
            if run is None:
                continue
            self._refill_due = True
            if os.WIFSIGNALED(status):
                code = -os.WTERMSIG(status)
            else:
                code = os.waitstatus_to_exitcode(status)
            self._send(run, {"exit": code, "timeout": run["timeout"], "cancelled": run["cancelled"]})
            try:
                self.sel.unregister(run["conn"])
            except (KeyError, ValueError):
                pass
            run["conn"].close()

    def refill(self) -> None:
        """Fork replacement spares right after a run ended (off the running
        child's critical path as far as possible: a fork next to a running
        child slows it down)."""
        if not self._refill_due and len(self.spares) >= 1:
            return
        self._refill_due = False
        while len(self.spares) < self.n_spares:
            self.make_spare()

    def check_deadlines(self) -> float | None:
        now = time.monotonic()
        nxt = None
        for pid, run in self.runs.items():
            if run["timeout"] or run["cancelled"]:
                continue
            if now >= run["deadline"]:
                run["timeout"] = True
                self.kill(pid)
            else:
                left = run["deadline"] - now
                nxt = left if nxt is None else min(nxt, left)
        return nxt

    def shutdown(self) -> None:
        for pid in list(self.runs) + [p for p, _ in self.spares]:
            self.kill(pid)
        os._exit(0)

    def serve(self) -> None:
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda *a: None)
        self.sel.register(self.master, selectors.EVENT_READ, ("master", 0))
        self.sel.register(self.wake_r, selectors.EVENT_READ, ("wake", 0))
        while len(self.spares) < self.n_spares:
            self.make_spare()
        self.master.send(b"READY")
        while True:
            timeout = self.check_deadlines()
            for key, _ in self.sel.select(timeout):
                kind, pid = key.data
                if kind == "master":
                    self.on_master()
                elif kind == "wake":
                    self.reap()
                else:
                    self.on_conn(pid)
            self.reap()
            self.refill()


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    fd = int(argv[0])
    spares = int(argv[1]) if len(argv) > 1 else 2
    master = socket.socket(fileno=fd)
    os.set_inheritable(fd, False)
    warm_up()
    gc.collect()
    gc.freeze()
    Zygote(master, spares).serve()
