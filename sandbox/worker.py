"""A warm sandbox for one piece of code that is called many times: a model's feature code at prediction time.

``Worker(code, harness)`` starts its own zygote (never shared with another piece of code or with
:class:`sandbox.Executor`): a clean ``python -I`` process that imports the heavy libraries once and compiles the
code with the language layer's rules, without running it. It keeps ``spares`` children forked ahead of time; each
one enters its namespaces, applies every layer a :class:`sandbox.Executor` run gets (rlimits, Landlock with its own
fresh, empty workdir, seccomp, the audit hook, the minimal environment), only then runs the code's top level
under the language layer, and waits. ``call(payload)`` takes a ready spare, sends it the payload, and the spare's
trusted harness answers: ``handle(user, payload) -> bytes``, with ``user`` the code's namespace (the harness may
also define ``warm()``, which the zygote runs once, without the code, so that spares start with what a call uses
already loaded), and ``sample`` is a payload each spare handles once before it says it is ready, so that the
real call finds the pages and code paths it needs already touched in that process. A spare serves
exactly one call and exits, and its workdir is removed, so nothing the code does or writes survives a call; the
zygote forks the next spare while the caller goes on. What the caller gets is bytes: it decides what they mean.

Protocol. Caller <-> zygote, a SOCK_SEQPACKET pair: the caller sends the start message (JSON), the zygote answers
``READY`` or an error; then ``G`` asks for a spare and is answered by ``{"pid": ...}`` with the spare's socket
(SCM_RIGHTS) or ``{"error": ...}``; ``K<pid>`` kills a spare that overran. Caller <-> spare, a SOCK_STREAM pair:
length-prefixed frames, the payload one way and ``{"ok": ..., ...}`` then the answer's bytes the other way.
"""

from __future__ import annotations

import base64
import json
import os
import select
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

PKG_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
START_TIMEOUT_S = 120.0
MAX_FRAME = 1 << 31
DISK_POLL_S = 0.1
_BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from sandbox.worker import zygote_main; zygote_main(sys.argv[2:])"


class WorkerError(RuntimeError):
    """The code cannot serve: it failed the check or its top level failed, the call failed or overran."""


def _send_frame(sock: socket.socket, data: bytes) -> None:
    sock.sendall(struct.pack("!Q", len(data)) + data)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            raise EOFError("the other end closed")
        buf += chunk
    return bytes(buf)


def _recv_frame(sock: socket.socket, limit: int = MAX_FRAME) -> bytes:
    (n,) = struct.unpack("!Q", _recv_exact(sock, 8))
    if n > limit:
        raise WorkerError(f"a frame of {n} bytes is over the limit")
    return _recv_exact(sock, n)


class Worker:
    """A warm, per-code sandbox: ``Worker(code, harness).call(payload) -> bytes``. Thread safe; close() it."""

    def __init__(
        self,
        code: str,
        harness: str,
        timeout_s: float = 60.0,
        memory_mb: int = 2048,
        max_file_mb: int = 64,
        max_disk_mb: int = 256,
        spares: int = 2,
        sample: bytes | None = None,
    ) -> None:
        from . import policy

        check = policy.check(code)
        if not check.ok:
            raise WorkerError("; ".join(check.errors)[:2000])
        self.timeout_s = float(timeout_s)
        self.max_disk_bytes = int(max_disk_mb) << 20
        self._lock = threading.Lock()
        self._closed = False
        self._base = tempfile.mkdtemp(prefix="sandbox-worker-")
        self.isolation = ""
        self._proc: subprocess.Popen | None = None
        self._master: socket.socket | None = None
        from .executor import _cache_dir

        self._start_message = {
            "code": code,
            "harness": harness,
            "base": self._base,
            "mplconfigdir": _cache_dir(),
            "timeout_s": self.timeout_s,
            "memory_mb": int(memory_mb),
            "max_file_mb": int(max_file_mb),
            "spares": max(1, int(spares)),
            "sample": base64.b64encode(sample).decode() if sample else "",
        }
        try:
            self._start()
        except WorkerError:
            self.close()
            raise

    def _start(self) -> None:
        """Start the zygote and wait until its first spare has set the code up (or says why it cannot)."""
        from .executor import _minimal_env

        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-B", "-c", _BOOT, PKG_PARENT, str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                env=_minimal_env(self._start_message["mplconfigdir"]),
                cwd="/",
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                close_fds=True,
                start_new_session=True,
            )
        finally:
            theirs.close()
        self._master = ours
        try:
            ours.settimeout(START_TIMEOUT_S)
            ours.send(json.dumps(self._start_message).encode())
            answer = json.loads(ours.recv(1 << 16) or b'{"error": "the worker did not start"}')
        except (OSError, ValueError) as exc:
            raise WorkerError(f"the worker did not start: {exc}") from None
        if "error" in answer:
            raise WorkerError(answer["error"])
        self.isolation = answer.get("isolation", "")
        ours.settimeout(None)

    def _spare(self) -> tuple[dict, list[int]]:
        """A ready spare from the zygote (its reply and socket), starting a new zygote once if this one died."""
        for attempt in (1, 2):
            try:
                self._master.settimeout(self.timeout_s)
                self._master.send(b"G")
                msg, fds, _flags, _addr = socket.recv_fds(self._master, 1 << 16, 1)
                self._master.settimeout(None)
                if msg:
                    return json.loads(msg), fds
            except OSError as exc:
                if isinstance(exc, TimeoutError) or attempt == 2:
                    raise WorkerError(f"the worker did not answer: {exc}") from None
            self._stop_zygote()  # it died (killed, out of memory): the code set up before, so start again
            self._start()
        raise WorkerError("the worker is gone")

    def call(self, payload: bytes) -> bytes:
        """Hand `payload` to a fresh spare and return its harness's answer; WorkerError if it fails or overruns."""
        deadline = time.monotonic() + self.timeout_s
        with self._lock:
            if self._closed:
                raise WorkerError("the worker is closed")
            reply, fds = self._spare()
        if "error" in reply:
            for fd in fds:
                os.close(fd)
            raise WorkerError(reply["error"])
        if len(fds) != 1:
            raise WorkerError("the worker sent no spare")
        pid = int(reply["pid"])
        with socket.socket(fileno=fds[0]) as spare:
            try:
                spare.settimeout(max(0.1, deadline - time.monotonic()))
                _send_frame(spare, payload)
                self._await_answer(spare, pid, deadline, reply.get("workdir", ""))
                spare.settimeout(max(0.1, deadline - time.monotonic()))
                status = json.loads(_recv_frame(spare, 1 << 20))
                answer = _recv_frame(spare) if status.get("ok") else b""
            except (OSError, EOFError, ValueError) as exc:
                self._kill(pid)
                overran = isinstance(exc, TimeoutError) or time.monotonic() >= deadline
                raise WorkerError(
                    f"the call overran its {self.timeout_s:.0f} s" if overran else f"the call died: {exc}"
                ) from None
        if not status.get("ok"):
            raise WorkerError(f"{status.get('error_type', 'Error')}: {status.get('error', '')}")
        return answer

    def _await_answer(self, spare: socket.socket, pid: int, deadline: float, workdir: str) -> None:
        """Wait for the spare to start answering; while it works, keep its workdir under the disk cap (as
        Executor does for a run). A quick call is never polled."""
        from .executor import _tree_bytes

        while not select.select([spare], [], [], max(0.0, min(DISK_POLL_S, deadline - time.monotonic())))[0]:
            if time.monotonic() >= deadline:
                raise TimeoutError
            if workdir and _tree_bytes(workdir, self.max_disk_bytes) > self.max_disk_bytes:
                self._kill(pid)
                raise WorkerError(f"the call wrote more than {self.max_disk_bytes >> 20} MB in its workdir")

    def _kill(self, pid: int) -> None:
        with self._lock:
            try:
                if self._master is not None:
                    self._master.send(b"K%d" % pid)
            except OSError:
                pass

    def close(self) -> None:
        """Stop the zygote and its spares and remove their workdirs."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._stop_zygote()
        from .tree import remove_tree

        remove_tree(self._base)

    def _stop_zygote(self) -> None:
        """Close the zygote's socket (it then kills its spares and exits) and reap it."""
        if self._master is not None:
            self._master.close()
            self._master = None
        proc, self._proc = self._proc, None
        if proc is not None:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                for fn in (lambda: os.killpg(proc.pid, signal.SIGKILL), proc.kill):
                    try:
                        fn()
                    except OSError:
                        pass
                proc.wait()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


# ----------------------------------------------------------------------------- the zygote's side


class _Zygote:
    def __init__(self, master: socket.socket, start: dict) -> None:
        self.master = master
        self.start = start
        self.spares: dict[int, tuple[socket.socket, str]] = {}  # pid -> (socket, workdir)
        self.ready: list[int] = []
        self.handed: set[int] = set()  # spares serving a call (they count no more towards the spares kept)
        self.waiting = 0  # callers that asked for a spare before one was ready
        self.broken: str | None = None
        self.isolation = ""  # the layers the first ready spare reported
        self.sel = selectors.DefaultSelector()
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)

    def make_spare(self) -> None:
        workdir = tempfile.mkdtemp(prefix="spare-", dir=self.start["base"])
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pid = os.fork()
        if pid == 0:
            try:
                ours.close()
                _spare(theirs, workdir, self.start)
            finally:
                os._exit(72)
        theirs.close()
        self.spares[pid] = (ours, workdir)
        self.sel.register(ours, selectors.EVENT_READ, pid)

    def on_spare(self, pid: int) -> None:
        """A spare said it is ready (b"R"), or that its setup failed (b"E" + JSON), or died."""
        sock, _ = self.spares[pid]
        self.sel.unregister(sock)
        try:
            first = sock.recv(1)
        except OSError:
            first = b""
        if first == b"R":
            try:
                self.isolation = _recv_frame(sock, 1 << 16).decode()
            except (OSError, EOFError, WorkerError):
                self.kill(pid)
                return
            self.ready.append(pid)
            self.serve_waiting()
            return
        if first == b"E":
            try:
                self.broken = json.loads(_recv_frame(sock, 1 << 20)).get("error", "setup failed")
            except (OSError, EOFError, ValueError, WorkerError):
                self.broken = "the code's setup failed"
        else:
            self.broken = "a spare died while setting up (limits, or the code's top level ended the process)"
        self.kill(pid)
        self.serve_waiting()

    def serve_waiting(self) -> None:
        while self.waiting and (self.ready or self.broken):
            self.waiting -= 1
            self.hand_out()

    def hand_out(self) -> None:
        if self.broken:
            self.master.send(json.dumps({"error": self.broken}).encode())
            return
        pid = self.ready.pop(0)
        sock, workdir = self.spares[pid]
        try:
            socket.send_fds(self.master, [json.dumps({"pid": pid, "workdir": workdir}).encode()], [sock.fileno()])
        except OSError:
            self.kill(pid)
        sock.close()  # the caller owns the connection now
        self.handed.add(pid)

    def on_master(self) -> None:
        try:
            msg = self.master.recv(64)
        except OSError:
            msg = b""
        if not msg:
            self.shutdown()
        if msg == b"G":
            self.waiting += 1
            self.serve_waiting()
        elif msg.startswith(b"K") and msg[1:].isdigit() and int(msg[1:]) in self.spares:
            self.kill(int(msg[1:]))

    @staticmethod
    def kill(pid: int) -> None:
        from .zygote import kill_group

        kill_group(pid)

    def reap(self) -> None:
        from .tree import remove_tree
        from .zygote import reaped

        for pid, _status in reaped(self.wake_r):
            sock, workdir = self.spares.pop(pid, (None, None))
            self.handed.discard(pid)
            if pid in self.ready:
                self.ready.remove(pid)
            if sock is not None:
                try:
                    self.sel.unregister(sock)
                except (KeyError, ValueError):
                    pass
                sock.close()
            if workdir:
                remove_tree(workdir)

    def refill(self) -> None:
        while not self.broken and len(self.spares) - len(self.handed) < self.start["spares"]:
            self.make_spare()

    def shutdown(self) -> None:
        from .tree import remove_tree

        for pid in list(self.spares):
            self.kill(pid)
        for pid in list(self.spares):
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
            remove_tree(self.spares[pid][1])
        os._exit(0)

    def serve(self) -> None:
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda *a: None)
        self.sel.register(self.master, selectors.EVENT_READ, "master")
        self.sel.register(self.wake_r, selectors.EVENT_READ, "wake")
        self.refill()
        first = self.spares and next(iter(self.spares))
        while first and first not in self.ready and not self.broken:  # the first spare proves the code sets up
            for key, _ in self.sel.select():
                if isinstance(key.data, int):
                    self.on_spare(key.data)
            self.reap()
        if self.broken:
            self.master.send(json.dumps({"error": self.broken}).encode())
            self.shutdown()
        self.master.send(json.dumps({"ok": True, "isolation": self.isolation}).encode())
        while True:
            for key, _ in self.sel.select():
                if key.data == "master":
                    self.on_master()
                elif key.data == "wake":
                    self.reap()
                else:
                    self.on_spare(key.data)
            self.reap()
            self.refill()


def _spare(sock: socket.socket, workdir: str, start: dict) -> None:
    """One spare: isolate, run the code's top level, say ready, serve one call, exit. Never returns."""
    from . import child, oslayer, policy

    keep = sock.fileno()
    os.setsid()
    oslayer._libc.prctl(oslayer.PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    signal.set_wakeup_fd(-1)
    for s in (signal.SIGCHLD, signal.SIGTERM):
        signal.signal(s, signal.SIG_DFL)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    netns = oslayer.unshare_net()
    if netns and oslayer.enter_pid_namespace():
        netns += "+pidns"
    prep = oslayer.Prepared((start["mplconfigdir"],))
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    kept = sorted({keep, *prep.keep_fds()})
    low = 3
    for fd in kept:
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 1 << 16)
    request = {
        "workdir": workdir,
        "timeout_s": start["timeout_s"],
        "memory_mb": start["memory_mb"],
        "max_file_mb": start["max_file_mb"],
        "mplconfigdir": start["mplconfigdir"],
        "mode": "worker",
    }

    def fail(exc: BaseException) -> None:
        res = child._error_result(exc, workdir, start["memory_mb"])
        try:
            sock.sendall(b"E")
            _send_frame(sock, json.dumps(res, default=str).encode())
        except OSError:
            pass
        os._exit(0)

    try:
        isolation = child.isolate(request, netns, prep)
        code_obj, errors = policy._compile(start["code"])
        if errors:
            raise policy.PolicyError(errors)
        glb = policy.make_globals(workdir)
        exec(code_obj, glb)  # noqa: S102 - RestrictedPython output, inside every layer
        hglb = {"__name__": "__harness__", "__builtins__": __builtins__}
        exec(compile(start["harness"], "<harness>", "exec"), hglb)  # noqa: S102 - trusted harness
        handle, user = hglb["handle"], policy.user_namespace(glb)
    except BaseException as exc:  # noqa: BLE001 - reported to the caller
        fail(exc)
    if start["sample"]:  # a first call in a fresh process pays for every page and code path it touches (16 ms of
        # a one-row call, 4 ms after): pay it here, before the caller waits, with its sample of the payload
        try:
            handle(user, base64.b64decode(start["sample"]))
        except BaseException:  # noqa: BLE001, S110 - only a warm-up: the real call reports its own failure
            pass
    try:
        sock.sendall(b"R")
        _send_frame(sock, isolation.encode())
        payload = _recv_frame(sock)
    except (OSError, EOFError, WorkerError):
        os._exit(0)
    try:
        answer = handle(user, payload)
        if not isinstance(answer, bytes | bytearray | memoryview):
            raise TypeError("the harness must return bytes")
        status = {"ok": True, "isolation": isolation}
    except BaseException as exc:  # noqa: BLE001 - reported to the caller
        status, answer = child._error_result(exc, workdir, start["memory_mb"]), b""
    try:
        _send_frame(sock, json.dumps(status, default=str).encode())
        if status["ok"]:
            _send_frame(sock, bytes(answer))
    except OSError:
        pass
    os._exit(0)


def _warm_harness(harness: str) -> None:
    """Run the trusted harness's optional ``warm()`` once here, before any spare is forked, so that the libraries
    and code paths a call uses are loaded and touched once for all spares (no generated code runs here)."""
    hglb = {"__name__": "__harness__", "__builtins__": __builtins__}
    try:
        exec(compile(harness, "<harness>", "exec"), hglb)  # noqa: S102 - trusted harness
        if callable(hglb.get("warm")):
            hglb["warm"]()
    except Exception as exc:  # noqa: BLE001 - a spare reports the harness's real failure
        print(f"worker warm-up: {type(exc).__name__}: {exc}", file=sys.stderr)


def zygote_main(argv: list[str]) -> None:
    master = socket.socket(fileno=int(argv[0]))
    os.set_inheritable(master.fileno(), False)
    from .zygote import warm_up

    # no PDEATHSIG here: it fires when the creating *thread* ends (a Streamlit script run); the zygote ends when
    # the caller's end of the master socket closes instead, which includes the caller's death
    start = json.loads(master.recv(1 << 24))
    warm_up()
    _warm_harness(start["harness"])
    import gc

    gc.collect()
    gc.freeze()
    _Zygote(master, start).serve()
