"""What runs inside the sandboxed child: lock down, run untrusted code, then
the trusted harness, and report one JSON result line on fd 3.

Used both by children forked from the zygote and by the plain-subprocess
fallback (``python -I -B -c ... fallback``).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback

from . import oslayer, policy

RESULT_FD = 3
_dumps = json.dumps  # bound at import: a harness may monkeypatch json
_MAX_ERROR = 2000


def sanitize(text: str, workdir: str | None = None) -> str:
    """Strip host paths from messages that leave the sandbox."""
    if not text:
        return text
    pairs = []
    if workdir:
        pairs += [(os.path.realpath(workdir), "."), (workdir, ".")]
    pkg = os.path.dirname(os.path.abspath(__file__))
    pairs += [(pkg, "<sandbox>")]
    for p in sorted({sys.prefix, sys.base_prefix, sys.exec_prefix}, key=len, reverse=True):
        pairs.append((p, "<python>"))
    for src, dst in pairs:
        if src and len(src) > 1:
            text = text.replace(src, dst)
    return text


def _write_msg(msg: dict) -> None:
    data = (_dumps(msg, default=str) + "\n").encode()
    try:
        while data:
            n = os.write(RESULT_FD, data)
            data = data[n:]
    except OSError:
        pass


def isolate(req: dict, netns: str | None, prep=None) -> str:
    """Apply every OS layer we can; return the isolation description."""
    workdir = os.path.realpath(req["workdir"])
    os.chdir(workdir)
    layers = [req.get("mode", "zygote")]
    if netns:
        layers.append(netns)
    env = oslayer.child_env(workdir, req.get("mplconfigdir"))
    os.environ.clear()
    os.environ.update(env)
    extra = (req["mplconfigdir"],) if req.get("mplconfigdir") else ()
    if prep is None or prep.extra != extra:
        prep = oslayer.Prepared(extra)
    layers.append(
        oslayer.set_rlimits(req["timeout_s"], req["memory_mb"], req.get("max_file_mb", 512), data_now=prep.data_now)
    )
    roots = prep.roots
    ll = prep.landlock.restrict([workdir])
    if ll:
        layers.append(ll)
    sc = oslayer.seccomp_filter(prep.seccomp)
    if sc:
        layers.append(sc)
    layers.append(oslayer.install_audit_hook(roots, [workdir], req.get("max_files", 2000), resolved=True))
    net_blocked = bool(netns) or bool(sc) or (ll is not None and oslayer.landlock_abi() >= 4)
    if not net_blocked:
        layers.append("net:audithook-only")
    return "+".join(layers)


def _error_result(exc: BaseException, workdir: str, memory_mb: int) -> dict:
    etype = type(exc).__name__
    msg = str(exc)
    if isinstance(exc, MemoryError):
        msg = msg or f"out of memory (limit {memory_mb} MB)"
    if isinstance(exc, oslayer.SandboxAuditError):
        etype = "PolicyViolation"
    lineno, where = None, None
    for fs in traceback.extract_tb(exc.__traceback__):
        if fs.filename in (policy.USER_FILENAME, "<harness>"):
            lineno, where = fs.lineno, fs.filename.strip("<>")
    msg = sanitize(msg, workdir)[:_MAX_ERROR]
    if lineno is not None:
        msg = f"{msg} ({where} line {lineno})"
    return {"ok": False, "error_type": etype, "error": msg, "lineno": lineno, "where": where}


def _release(*namespaces) -> None:
    """Drop the run's objects so files left open are flushed and closed, as
    they would be at a normal interpreter exit (we leave with os._exit)."""
    import gc

    for ns in namespaces:
        ns.clear()
    gc.collect()


def execute(req: dict) -> dict:
    workdir = os.path.realpath(req["workdir"])
    code_obj, errors = policy._compile(req["code"])
    if errors:
        return {"ok": False, "error_type": "PolicyViolation", "error": "; ".join(errors)[:_MAX_ERROR], "errors": errors}
    glb = policy.make_globals(workdir)
    hglb = {}
    try:
        exec(code_obj, glb)  # noqa: S102 - RestrictedPython output
        harness = req.get("harness")
        if harness:
            hglb = {"__name__": "__harness__", "__builtins__": __builtins__, "user": policy.user_namespace(glb)}
            exec(compile(harness, "<harness>", "exec"), hglb)  # noqa: S102
        _release(glb, hglb)
    except BaseException as exc:  # noqa: BLE001 - report everything
        res = _error_result(exc, workdir, req["memory_mb"])
        try:
            tb = "".join(traceback.format_exception(exc)[-12:])
            sys.stderr.write(sanitize(tb, workdir))
        except Exception:  # noqa: BLE001
            pass
        return res
    return {"ok": True, "error_type": None, "error": None}


def run_request(req: dict, netns: str | None, prep=None) -> None:
    """Isolate, execute, report, exit.  Never returns."""
    code = 0
    try:
        for s in (signal.SIGCHLD, signal.SIGTERM, signal.SIGPIPE):
            signal.signal(s, signal.SIG_DFL if s != signal.SIGPIPE else signal.SIG_IGN)
        try:
            signal.set_wakeup_fd(-1)
        except (ValueError, OSError):
            pass
        try:
            iso = isolate(req, netns, prep)
        except BaseException as exc:  # noqa: BLE001
            _write_msg(
                {"result": {"ok": False, "error_type": "SandboxError", "error": sanitize(f"isolation failed: {exc}")}}
            )
            os._exit(70)
        _write_msg({"isolation": iso})
        try:
            sys.stdout.reconfigure(line_buffering=True)
        except Exception:  # noqa: BLE001
            pass
        res = execute(req)
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:  # noqa: BLE001
            pass
        _write_msg({"result": res})
        _fast_close()
    except BaseException:  # noqa: BLE001
        code = 71
    os._exit(code)


def _fast_close() -> None:
    """If this process has a single thread left, nothing but the os._exit
    below can run any more: close stdout/stderr/result now so the caller gets
    EOF before the (slow) address-space teardown.  With other threads alive
    the caller must wait for exit_group, so keep the descriptors."""
    try:
        if len(os.listdir(f"/proc/{os.getpid()}/task")) != 1:
            return
    except OSError:
        return
    for fd in (1, 2, RESULT_FD):
        try:
            os.close(fd)
        except OSError:
            pass


def redirect_fds(out_fd: int, err_fd: int, res_fd: int, keep=()) -> None:
    """Put stdout/stderr/result on 1/2/3 and close every other descriptor
    (except ``keep``, e.g. a prepared Landlock ruleset)."""
    devnull = os.open(os.devnull, os.O_RDONLY)
    # move the incoming fds above 3 first so dup2 cannot clobber them
    tmp = [os.dup(fd) for fd in (out_fd, err_fd, res_fd)]
    os.dup2(devnull, 0)
    os.dup2(tmp[0], 1)
    os.dup2(tmp[1], 2)
    os.dup2(tmp[2], RESULT_FD)
    lo = RESULT_FD + 1
    for k in sorted(k for k in keep if k > RESULT_FD):
        os.closerange(lo, k)
        lo = k + 1
    os.closerange(lo, 1 << 16)
    for fd in (0, 1, 2, RESULT_FD):
        os.set_inheritable(fd, fd != RESULT_FD)


def fallback_main() -> None:
    """Entry point of the plain ``python`` subprocess fallback."""
    req = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    res_fd = int(sys.argv[-1])
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    if res_fd != RESULT_FD:
        os.dup2(res_fd, RESULT_FD)
    os.closerange(RESULT_FD + 1, 1 << 16)
    # die with the caller (its run() thread waits for us the whole time)
    oslayer._libc.prctl(oslayer.PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() == 1:
        os._exit(0)
    netns = oslayer.unshare_net() if req.get("netns", True) else None
    if netns and oslayer.enter_pid_namespace():
        netns += "+pidns"
    run_request(req, netns)
