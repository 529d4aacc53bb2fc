"""Run untrusted code (plus an optional trusted harness) in a fresh,
locked-down child process and collect the result.

The process-wide zygote (see :mod:`sandbox.zygote`) is started lazily, shared
by every :class:`Executor` in the process, protected by a lock and restarted
if it dies.  If it cannot start, each run falls back to a plain fresh
``python`` subprocess that applies the same layers itself (slower); the
``isolation`` field of the result says which mode was used.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field

from . import oslayer, policy
from .tree import remove_symlinks

PKG_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STDOUT_CAP = 256 * 1024
STDERR_CAP = 256 * 1024
RESULT_CAP = 1024 * 1024
ZYGOTE_START_TIMEOUT = 120.0


@dataclass
class ExecResult:
    ok: bool
    error_type: str | None = None
    error: str | None = None
    stdout: str = ""
    stderr: str = ""
    duration_s: float = 0.0
    isolation: str = ""
    exit_code: int | None = None
    timed_out: bool = False
    cancelled: bool = False
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    lineno: int | None = None
    errors: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _minimal_env(mplconfigdir: str) -> dict:
    env = oslayer.child_env("/", mplconfigdir)
    env.pop("HOME", None)
    env.pop("TMPDIR", None)
    env["HOME"] = mplconfigdir
    return env


_BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from sandbox.{mod} import {fn}; {fn}(sys.argv[2:])"
_FALLBACK_BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from sandbox.child import fallback_main; fallback_main()"


_CACHE_DIR: str | None = None


def _cache_dir() -> str:
    """Private (0700, owned by us) cache dir for matplotlib and the log."""
    global _CACHE_DIR
    if _CACHE_DIR and os.path.isdir(_CACHE_DIR):
        return _CACHE_DIR
    base = os.path.join(tempfile.gettempdir(), f"sandbox-cache-{os.getuid()}")
    try:
        os.makedirs(base, mode=0o700, exist_ok=True)
        st = os.lstat(base)
        if st.st_uid != os.getuid() or st.st_mode & 0o077 or not os.path.isdir(base) or os.path.islink(base):
            raise PermissionError(base)
    except OSError:
        base = tempfile.mkdtemp(prefix="sandbox-cache-")
    mpl = os.path.join(base, "mpl")
    os.makedirs(mpl, mode=0o700, exist_ok=True)
    _CACHE_DIR = mpl
    return mpl


class _ZygoteManager:
    """Process-wide handle on the zygote. Thread safe."""

    def __init__(self):
        self.lock = threading.Lock()
        self.proc: subprocess.Popen | None = None
        self.master: socket.socket | None = None
        self.failed_at: float | None = None
        self.mplconfigdir: str | None = None
        self.last_error: str | None = None

    def _start(self) -> None:
        self.mplconfigdir = _cache_dir()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        log = open(os.path.join(os.path.dirname(self.mplconfigdir), "zygote.log"), "ab")
        try:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-I",
                    "-B",
                    "-c",
                    _BOOT.format(mod="zygote", fn="main"),
                    PKG_PARENT,
                    str(theirs.fileno()),
                    "2",
                ],
                pass_fds=[theirs.fileno()],
                env=_minimal_env(self.mplconfigdir),
                cwd="/",
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                close_fds=True,
            )
        finally:
            theirs.close()
            log.close()
        ours.settimeout(ZYGOTE_START_TIMEOUT)
        try:
            msg = ours.recv(16)
        except OSError:
            msg = b""
        if msg != b"READY":
            self._kill()
            ours.close()
            raise RuntimeError("zygote did not start")
        ours.settimeout(None)
        self.master = ours

    def _kill(self) -> None:
        if self.proc is not None:
            try:
                self.proc.kill()
                self.proc.wait(timeout=5)
            except Exception:  # noqa: BLE001
                pass
        self.proc = None
        if self.master is not None:
            self.master.close()
        self.master = None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def submit(self, fds: list[int]) -> bool:
        """Hand a run's fds to the zygote; start/restart it if needed."""
        with self.lock:
            for attempt in range(2):
                if not self.alive():
                    self._kill()
                    if self.failed_at and time.monotonic() - self.failed_at < 30 and attempt == 0:
                        return False
                    try:
                        self._start()
                    except Exception as e:  # noqa: BLE001
                        self.failed_at = time.monotonic()
                        self.last_error = str(e)
                        return False
                try:
                    socket.send_fds(self.master, [b"R"], fds)
                    return True
                except OSError:
                    self._kill()
            return False

    def shutdown(self) -> None:
        with self.lock:
            self._kill()


_ZYGOTE = _ZygoteManager()


def prewarm() -> bool:
    """Start the shared zygote now (otherwise the first run starts it)."""
    with _ZYGOTE.lock:
        if _ZYGOTE.alive():
            return True
        try:
            _ZYGOTE._kill()
            _ZYGOTE._start()
            return True
        except Exception:  # noqa: BLE001
            _ZYGOTE.failed_at = time.monotonic()
            return False


def shutdown_zygote() -> None:
    _ZYGOTE.shutdown()


def _prepare_workdir(workdir: str) -> str:
    wd = os.path.realpath(workdir)
    if wd == os.path.realpath("/") or wd == os.path.realpath(os.path.expanduser("~")):
        raise ValueError("refusing to use / or the home directory as workdir")
    os.makedirs(wd, exist_ok=True)
    return wd


def _tree_bytes(root: str, limit: int) -> int:
    total = 0
    stack = [root]
    while stack:
        d = stack.pop()
        try:
            with os.scandir(d) as it:
                for e in it:
                    try:
                        if e.is_dir(follow_symlinks=False):
                            stack.append(e.path)
                        elif e.is_file(follow_symlinks=False):
                            total += e.stat(follow_symlinks=False).st_blocks * 512
                    except OSError:
                        pass
                    if total > limit:
                        return total
        except OSError:
            pass
    return total


class Executor:
    """Run untrusted code in a fresh sandboxed process per call.

    ``Executor(workdir, timeout_s=120, memory_mb=2048).run(code, harness)``.
    Several runs may be in flight in different threads (one per Executor, or
    several on one Executor; ``cancel()`` kills all of this executor's runs).
    """

    def __init__(
        self,
        workdir,
        timeout_s: float = 120,
        memory_mb: int = 2048,
        max_file_mb: int = 512,
        max_disk_mb: int = 2048,
        max_files: int = 2000,
        use_zygote: bool = True,
    ):
        self.workdir = os.fspath(workdir)
        self.timeout_s = float(timeout_s)
        self.memory_mb = int(memory_mb)
        self.max_file_mb = int(max_file_mb)
        self.max_disk_mb = int(max_disk_mb)
        self.max_files = int(max_files)
        self.use_zygote = use_zygote
        self._lock = threading.Lock()
        self._active: list[dict] = []

    # ------------------------------------------------------------------ API
    def cancel(self) -> None:
        """Kill whatever child this executor is running right now."""
        with self._lock:
            active = list(self._active)
        for run in active:
            run["cancelled"] = True
            self._kill(run)

    def run(self, code: str, harness: str | None = None) -> ExecResult:
        t0 = time.perf_counter()
        chk = policy.check(code)
        if not chk.ok:
            return ExecResult(
                ok=False,
                error_type="PolicyViolation",
                error="; ".join(chk.errors)[:2000],
                errors=chk.errors,
                duration_s=time.perf_counter() - t0,
                isolation="none (not executed)",
            )
        if harness is not None and not isinstance(harness, str):
            raise TypeError("harness must be a str")
        workdir = _prepare_workdir(self.workdir)
        req = {
            "code": code,
            "harness": harness,
            "workdir": workdir,
            "timeout_s": self.timeout_s,
            "memory_mb": self.memory_mb,
            "max_file_mb": self.max_file_mb,
            "max_files": self.max_files,
        }
        run = {"cancelled": False, "conn": None, "proc": None}
        with self._lock:
            self._active.append(run)
        try:
            res = self._run(req, run)
        finally:
            with self._lock:
                self._active.remove(run)
            walked = remove_symlinks(workdir)
        if not walked and res.ok:  # a folder the run left could not be checked for links out: trust none of it
            res.ok, res.error_type = False, "SandboxError"
            res.error = "the run left folders that could not be checked for links out of its workdir"
        res.duration_s = time.perf_counter() - t0
        return res

    # ------------------------------------------------------------ internals
    @staticmethod
    def _kill(run: dict) -> None:
        conn = run.get("conn")
        if conn is not None:
            try:
                conn.send(b"K")
            except OSError:
                pass
        proc = run.get("proc")
        if proc is not None:
            for fn in (lambda: os.killpg(proc.pid, signal.SIGKILL), proc.kill):
                try:
                    fn()
                except (OSError, ProcessLookupError):
                    pass

    def _run(self, req: dict, run: dict) -> ExecResult:
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        res_r, res_w = os.pipe()
        mode = "zygote"
        conn = None
        try:
            if self.use_zygote:
                a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
                ok = _ZYGOTE.submit([b.fileno(), out_w, err_w, res_w])
                b.close()
                if ok:
                    req["mplconfigdir"] = _ZYGOTE.mplconfigdir
                    req["mode"] = "zygote"
                    body = json.dumps(req).encode()
                    try:
                        a.sendall(struct.pack("!I", len(body)) + body)
                        conn = a
                        run["conn"] = a
                    except OSError:
                        a.close()
                        ok = False
                else:
                    a.close()
                if not ok:
                    mode = "subprocess"
            else:
                mode = "subprocess"
            if mode == "subprocess":
                req["mode"] = "subprocess"
                req["mplconfigdir"] = _cache_dir()
                proc = subprocess.Popen(
                    [sys.executable, "-I", "-B", "-c", _FALLBACK_BOOT, PKG_PARENT, str(res_w)],
                    stdin=subprocess.PIPE,
                    stdout=out_w,
                    stderr=err_w,
                    pass_fds=[res_w],
                    env=_minimal_env(req["mplconfigdir"]),
                    cwd=req["workdir"],
                    start_new_session=True,
                )
                run["proc"] = proc
                try:
                    proc.stdin.write(json.dumps(req).encode())
                    proc.stdin.close()
                except OSError:
                    pass
        finally:
            for fd in (out_w, err_w, res_w):
                os.close(fd)
        if run["cancelled"]:
            self._kill(run)
        return self._collect(req, run, mode, conn, out_r, err_r, res_r)

    def _collect(self, req, run, mode, conn, out_r, err_r, res_r):
        sel = selectors.DefaultSelector()
        bufs = {out_r: bytearray(), err_r: bytearray(), res_r: bytearray()}
        caps = {out_r: STDOUT_CAP, err_r: STDERR_CAP, res_r: RESULT_CAP}
        trunc = {out_r: False, err_r: False, res_r: False}
        for fd in bufs:
            sel.register(fd, selectors.EVENT_READ, fd)
        conn_buf = bytearray()
        if conn is not None:
            sel.register(conn, selectors.EVENT_READ, "conn")
        exit_info = None
        timeout = float(req["timeout_s"])
        start = time.monotonic()
        hard_deadline = start + timeout + (5.0 if mode == "zygote" else 0.0)
        killed_at = None
        timed_out = False
        disk_base = _tree_bytes(req["workdir"], 1 << 62)
        disk_limit = disk_base + self.max_disk_mb * 1024 * 1024
        next_disk_check = start + 0.25
        disk_exceeded = False
        open_fds = set(bufs)
        # Done when every pipe hit EOF (so every thread of the child is gone)
        # and either a result arrived or the zygote reported the exit status.
        while open_fds or (conn is not None and exit_info is None and b'"result"' not in bufs[res_r]):
            now = time.monotonic()
            if now >= hard_deadline and killed_at is None:
                timed_out = True
                killed_at = now
                self._kill(run)
            if killed_at is not None and now - killed_at > 5:
                break  # give up waiting for a wedged child
            if now >= next_disk_check:
                next_disk_check = now + 0.25
                if _tree_bytes(req["workdir"], disk_limit) > disk_limit:
                    disk_exceeded = True
                    if killed_at is None:
                        killed_at = now
                    self._kill(run)
            wait = max(0.0, min(hard_deadline - now, next_disk_check - now, 1.0))
            for key, _ in sel.select(wait):
                if key.data == "conn":
                    try:
                        data = conn.recv(65536)
                    except OSError:
                        data = b""
                    if not data:
                        sel.unregister(conn)
                        conn.close()
                        conn = None
                        run["conn"] = None
                        if exit_info is None:
                            exit_info = {"exit": None}
                        continue
                    conn_buf += data
                    while b"\n" in conn_buf:
                        line, _, rest = bytes(conn_buf).partition(b"\n")
                        conn_buf = bytearray(rest)
                        try:
                            msg = json.loads(line)
                        except ValueError:
                            continue
                        if "exit" in msg:
                            exit_info = msg
                    continue
                fd = key.data
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(fd)
                    os.close(fd)
                    open_fds.discard(fd)
                    continue
                room = caps[fd] - len(bufs[fd])
                if room > 0:
                    bufs[fd] += data[:room]
                if len(data) > room:
                    trunc[fd] = True
            if mode == "subprocess" and exit_info is None and run["proc"].poll() is not None and not open_fds:
                break
        for fd in list(open_fds):
            try:
                sel.unregister(fd)
            except (KeyError, ValueError):
                pass
            os.close(fd)
        if conn is not None:
            conn.close()
            run["conn"] = None
        sel.close()
        if mode == "subprocess":
            proc = run["proc"]
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._kill(run)
                proc.wait()
            code = proc.returncode
        else:
            code = (exit_info or {}).get("exit")
            timed_out = timed_out or bool((exit_info or {}).get("timeout"))
        return self._build(
            req,
            run,
            mode,
            bufs[out_r],
            bufs[err_r],
            bufs[res_r],
            trunc[out_r],
            trunc[err_r],
            code,
            timed_out,
            disk_exceeded,
        )

    def _build(self, req, run, mode, out, err, resb, out_t, err_t, code, timed_out, disk_exceeded) -> ExecResult:
        isolation = mode
        result = None
        for line in bytes(resb).splitlines():
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if "isolation" in msg and isinstance(msg["isolation"], str):
                isolation = msg["isolation"][:200]
            if "result" in msg and isinstance(msg["result"], dict):
                result = msg["result"]
        r = ExecResult(
            ok=False,
            stdout=out.decode("utf-8", "replace"),
            stderr=err.decode("utf-8", "replace"),
            isolation=isolation,
            exit_code=code,
            stdout_truncated=out_t,
            stderr_truncated=err_t,
        )
        if out_t:
            r.stdout += "\n[stdout truncated]"
        if err_t:
            r.stderr += "\n[stderr truncated]"
        if run["cancelled"]:
            r.cancelled = True
            r.error_type, r.error = "Cancelled", "run cancelled"
        elif timed_out:
            r.timed_out = True
            r.error_type = "Timeout"
            r.error = f"wall-clock timeout after {req['timeout_s']:g} s"
        elif disk_exceeded:
            r.error_type = "DiskQuotaExceeded"
            r.error = f"workdir grew beyond {self.max_disk_mb} MB"
        elif result is not None and code in (0, None):
            r.ok = bool(result.get("ok"))
            r.error_type = result.get("error_type")
            r.error = result.get("error")
            r.lineno = result.get("lineno")
            r.errors = list(result.get("errors") or [])
        elif result is not None and not result.get("ok"):
            r.error_type = result.get("error_type")
            r.error = result.get("error")
        elif code is not None and code < 0:
            sig = -code
            name = {
                signal.SIGXCPU: "CPUTimeLimit",
                signal.SIGKILL: "Killed",
                signal.SIGSEGV: "Crashed",
                signal.SIGXFSZ: "FileSizeLimit",
                signal.SIGSYS: "SyscallDenied",
            }.get(sig, "Crashed")
            r.error_type = name
            r.error = f"child terminated by signal {sig}" + (" (CPU time limit)" if sig == signal.SIGXCPU else "")
        else:
            r.error_type = "SandboxError"
            r.error = f"child exited with code {code} without a result"
        return r
