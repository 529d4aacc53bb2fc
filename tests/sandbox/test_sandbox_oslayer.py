"""The OS layers hold even when the language layer is bypassed.

These attacks run as the *harness* (ordinary, unrestricted Python inside the
child), i.e. as if an attacker had fully escaped RestrictedPython.  Every
attempt must fail, and the side effect must not have happened.
"""

import json
import os
import subprocess
import sys

import pytest
import sbx_helpers  # noqa: F401

import sandbox
from sandbox import oslayer

ATTACKS = r"""
import json, os, sys
results = {}
def attempt(name, fn):
    try:
        out = fn()
        results[name] = "LEAK: " + repr(out)[:200]
    except BaseException as e:
        results[name] = "blocked: " + type(e).__name__

def connect():
    import socket
    s = socket.create_connection(("127.0.0.1", PORT), timeout=2)
    s.sendall(b"exfiltrated")
    return "connected"
def udp():
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    return s.sendto(b"x", ("127.0.0.1", PORT))
def dns():
    import socket
    return socket.getaddrinfo("example.com", 80)
def unix_socket():
    import socket
    s = socket.socket(socket.AF_UNIX)
    return s.connect("/run/docker.sock")
def fork():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    return pid
def spawn():
    import subprocess
    return subprocess.run(["/bin/sh", "-c", "touch CANARY"]).returncode
def posix_spawn():
    return os.posix_spawn("/bin/touch", ["touch", "CANARY"], {})
def raw_fork():
    import ctypes
    libc = sys.modules["sandbox.oslayer"]._libc
    r = libc.syscall(57)
    if r == 0:
        os._exit(0)
    if r < 0:
        raise OSError(ctypes.get_errno(), "fork")
    return r
def raw_open_passwd():
    import ctypes
    libc = sys.modules["sandbox.oslayer"]._libc
    fd = libc.syscall(2, b"/etc/passwd", 0, 0)
    if fd < 0:
        raise OSError(ctypes.get_errno(), "open")
    return os.read(fd, 100)
def raw_write_canary():
    import ctypes
    libc = sys.modules["sandbox.oslayer"]._libc
    fd = libc.syscall(2, b"CANARY", 1 | 0o1000, 0)
    if fd < 0:
        raise OSError(ctypes.get_errno(), "open")
    return os.write(fd, b"pwned")
def raw_socket():
    import ctypes
    libc = sys.modules["sandbox.oslayer"]._libc
    fd = libc.syscall(41, 2, 1, 0)
    if fd < 0:
        raise OSError(ctypes.get_errno(), "socket")
    return fd
def raw_kill_parent():
    import ctypes
    libc = sys.modules["sandbox.oslayer"]._libc
    r = libc.syscall(62, PARENT, 0)
    if r < 0:
        raise OSError(ctypes.get_errno(), "kill")
    return r
def dlopen():
    import ctypes
    return ctypes.CDLL("libc.so.6").system(b"touch CANARY")
def raw(nr, *args):
    import ctypes
    libc = sys.modules["sandbox.oslayer"]._libc
    r = libc.syscall(nr, *args)
    if r == -1:
        raise OSError(ctypes.get_errno(), f"syscall {nr}")
    return r
def chmod_canary():
    return raw(90, b"CANARY", 0o777)
def utime_canary():
    return raw(132, b"CANARY", None)
def xattr_canary():
    return raw(188, b"CANARY", b"user.pwned", b"1", 1, 0)
def xattrat_canary():
    import ctypes
    value = ctypes.create_string_buffer(b"1")
    args = (ctypes.c_uint64 * 2)(ctypes.addressof(value), 1)
    return raw(463, -100, b"CANARY", 0, b"user.pwned", args, 16)
def inode_flags():
    import ctypes
    fd = os.open("own.txt", os.O_CREAT | os.O_RDONLY, 0o600)
    flags = ctypes.c_long(0x40)  # FS_NODUMP_FL
    return raw(16, fd, 0x40086602, ctypes.byref(flags))
def affinity_parent():
    import ctypes
    mask = ctypes.c_ulong(1)
    return raw(203, PARENT, ctypes.sizeof(mask), ctypes.byref(mask))
def ioprio_parent():
    return raw(251, 1, PARENT, (3 << 13) | 7)
def sigqueue_parent():
    import ctypes
    info = ctypes.create_string_buffer(128)
    return raw(129, PARENT, 0, info)
def memfd():
    return raw(319, b"hidden", 0)
def inotify():
    return raw(294, 0)
def fallocate_big():
    fd = os.open("big.bin", os.O_CREAT | os.O_WRONLY, 0o600)
    import ctypes
    return raw(285, fd, 0, ctypes.c_long(0), ctypes.c_long(4 << 30))
def host_shm():
    import ctypes
    libc = sys.modules["sandbox.oslayer"]._libc
    libc.shmat.restype = ctypes.c_void_p
    addr = libc.shmat(SHMID, None, 0)
    if addr in (None, ctypes.c_void_p(-1).value):
        raise OSError(ctypes.get_errno(), "shmat")
    return ctypes.string_at(addr, 16)

attempt("read_passwd", lambda: open("/etc/passwd").read())
attempt("read_shadow_dir", lambda: os.listdir("/root"))
attempt("write_canary", lambda: open("CANARY", "w").write("pwned"))
attempt("append_canary", lambda: open("CANARY", "a").write("pwned"))
attempt("write_tmp", lambda: open("/tmp/sandbox-oslayer-probe", "w").write("x"))
attempt("unlink_canary", lambda: os.unlink("CANARY"))
attempt("rename_canary", lambda: os.rename("CANARY", "stolen.txt"))
attempt("hardlink_passwd", lambda: os.link("/etc/passwd", "passwd_link"))
attempt("symlink_etc", lambda: os.symlink("/etc", "etc2"))
attempt("mkfifo", lambda: os.mkfifo("output.parquet"))
attempt("chdir_escape", lambda: (os.chdir("/"), open("etc/passwd").read()))
attempt("proc_root", lambda: open("/proc/self/root/etc/passwd").read())
attempt("proc_cwd_parent", lambda: os.listdir(f"/proc/{os.getppid()}/root/"))
attempt("parent_environ", lambda: open("/proc/PARENT/environ", "rb").read())
attempt("zygote_environ", lambda: open(f"/proc/{os.getppid()}/environ", "rb").read())
attempt("parent_mem", lambda: open("/proc/PARENT/mem", "rb").read(1))
attempt("parent_cmdline_cwd", lambda: os.listdir("/proc/PARENT/cwd"))
attempt("connect_tcp", connect)
attempt("udp_send", udp)
attempt("dns", dns)
attempt("unix_socket", unix_socket)
attempt("fork", fork)
attempt("subprocess", spawn)
attempt("posix_spawn", posix_spawn)
attempt("raw_fork", raw_fork)
attempt("raw_open_passwd", raw_open_passwd)
attempt("raw_write_canary", raw_write_canary)
attempt("raw_socket", raw_socket)
attempt("raw_kill_parent", raw_kill_parent)
attempt("kill_parent", lambda: os.kill(PARENT, 0))
attempt("dlopen", dlopen)
attempt("chmod_outside", chmod_canary)
attempt("utime_outside", utime_canary)
attempt("setxattr_outside", xattr_canary)
attempt("setxattrat_outside", xattrat_canary)
attempt("inode_flags", inode_flags)
attempt("affinity_of_parent", affinity_parent)
attempt("ioprio_of_parent", ioprio_parent)
attempt("sigqueue_to_parent", sigqueue_parent)
attempt("memfd_create", memfd)
attempt("inotify", inotify)
attempt("fallocate_4g", fallocate_big)
attempt("host_shared_memory", host_shm)
# a host PID must not even be probed (a PID namespace of its own: the host's processes do not exist there)
attempt("probe_pid_getpgid", lambda: raw(121, PARENT))
attempt("probe_pid_getsid", lambda: raw(124, PARENT))
attempt("probe_pid_getpriority", lambda: raw(140, 0, PARENT))
attempt("probe_pid_scheduler", lambda: raw(145, PARENT))
attempt("probe_pid_pidfd", lambda: raw(434, PARENT, 0))
attempt("setrlimit_up", lambda: __import__("resource").setrlimit(
    __import__("resource").RLIMIT_CPU, (10**6, 10**6)))
results["env_has_secret"] = "LEAK" if any("SECRET" in k for k in os.environ) else "blocked: clean"
with open("attacks.json", "w") as f:
    json.dump(results, f)
"""


def _user_namespaces_work() -> bool:
    """Whether this kernel lets an unprivileged-looking process make a user + network namespace (a child tries)."""
    probe = (
        "import ctypes, os; libc = ctypes.CDLL(None, use_errno=True); "
        "os._exit(0 if libc.unshare(0x10000000 | 0x40000000) == 0 else 1)"
    )
    return subprocess.run([sys.executable, "-c", probe], timeout=30).returncode == 0


def _harness(canary, port, parent, shmid=-1):
    return (
        ATTACKS.replace("CANARY", str(canary))
        .replace("PORT", str(port))
        .replace("PARENT", str(parent))
        .replace("SHMID", str(shmid))
    )


@pytest.fixture
def host_segment():
    """A SysV shared memory segment of this (host) process holding a secret; removed afterwards."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.shmat.restype = ctypes.c_void_p
    shmid = libc.shmget(0, 4096, 0o1000 | 0o600)  # IPC_PRIVATE, IPC_CREAT
    assert shmid >= 0
    addr = libc.shmat(shmid, None, 0)
    ctypes.memmove(addr, b"host-shm-secret!", 16)
    yield shmid
    libc.shmdt(ctypes.c_void_p(addr))
    libc.shmctl(shmid, 0, None)  # IPC_RMID


@pytest.mark.parametrize("use_zygote", [True, False], ids=["zygote", "subprocess"])
def test_os_layers_hold_without_the_policy(tmp_path, listener, monkeypatch, use_zygote, host_segment):
    monkeypatch.setenv("SANDBOX_TEST_SECRET", "s3cr3t-value")
    workdir = tmp_path / "work"
    workdir.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    canary = outside / "canary.txt"
    canary.write_text("original")
    mtime, mode = canary.stat().st_mtime_ns, canary.stat().st_mode
    affinity = os.sched_getaffinity(0)
    ex = sandbox.Executor(workdir, timeout_s=30, use_zygote=use_zygote)
    res = ex.run("x = 1", harness=_harness(canary, listener.port, os.getpid(), host_segment))
    assert res.ok, (res.error_type, res.error, res.stderr[-2000:])
    results = json.loads((workdir / "attacks.json").read_text())
    leaks = {k: v for k, v in results.items() if not v.startswith("blocked")}
    assert not leaks, leaks
    assert len(results) >= 40
    # and the side effects really did not happen
    assert canary.read_text() == "original"
    assert canary.stat().st_mtime_ns == mtime and canary.stat().st_mode == mode
    assert "user.pwned" not in os.listxattr(canary)
    assert os.sched_getaffinity(0) == affinity
    assert not (workdir / "big.bin").exists() or (workdir / "big.bin").stat().st_blocks * 512 < 1 << 20
    assert sorted(os.listdir(outside)) == ["canary.txt"]
    assert not os.path.exists("/tmp/sandbox-oslayer-probe")
    assert listener.connections == 0 and listener.received == b""
    assert not (workdir / "passwd_link").exists()
    assert not (workdir / "etc2").exists()
    assert not (workdir / "output.parquet").exists()
    if _user_namespaces_work():
        assert "userns" in res.isolation and "pidns" in res.isolation
    if oslayer.landlock_abi() > 0:
        assert "landlock" in res.isolation
    assert "audithook" in res.isolation
    assert res.isolation.startswith("zygote" if use_zygote else "subprocess")


@pytest.mark.slow
def test_signal_catching_harness_is_killed_at_timeout(tmp_path):
    harness = (
        "import signal, time\n"
        "for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGXCPU):\n"
        "    signal.signal(s, lambda *a: None)\n"
        "open('started', 'w').write('1')\n"
        "while True:\n"
        "    try:\n"
        "        time.sleep(0.05)\n"
        "        open('alive', 'w').write(str(time.time()))\n"
        "    except BaseException:\n"
        "        pass\n"
    )
    res = sandbox.Executor(tmp_path, timeout_s=1.5).run("x = 1", harness=harness)
    assert not res.ok and res.error_type == "Timeout" and res.timed_out
    assert res.duration_s < 6
    assert (tmp_path / "started").exists()
    last = (tmp_path / "alive").stat().st_mtime
    import time

    time.sleep(0.5)
    assert (tmp_path / "alive").stat().st_mtime == last  # really dead


def test_memory_limit_applies_to_harness(tmp_path):
    res = sandbox.Executor(tmp_path, timeout_s=20, memory_mb=600).run(
        "x = 1", harness="import numpy as np\na = np.ones(200_000_000)\nopen('survived', 'w').write('1')"
    )
    assert not res.ok and res.error_type == "MemoryError", res
    assert not (tmp_path / "survived").exists()


def test_file_size_limit(tmp_path):
    res = sandbox.Executor(tmp_path, timeout_s=20, max_file_mb=5).run(
        "with open('big.bin', 'w') as f:\n    for i in range(100):\n        f.write('x' * 1024 * 1024)\n"
    )
    assert not res.ok and res.error_type == "OSError", res
    assert (tmp_path / "big.bin").stat().st_size <= 5 * 1024 * 1024


def test_weakest_mode_still_blocks_network_and_reports_it(tmp_path, listener):
    """Where the kernel refuses namespaces, Landlock and seccomp, the audit
    hook still blocks sockets, and `isolation` says so."""
    import subprocess
    import sys

    script = f"""
import sys, json
sys.path.insert(0, {sbx_helpers.REPO!r})
from sandbox import child, oslayer
oslayer.unshare_net = lambda: None
oslayer.seccomp_filter = lambda prog=None: None
oslayer.LandlockRuleset.restrict = lambda self, paths: None
req = {{"workdir": {str(tmp_path)!r}, "timeout_s": 10, "memory_mb": 1024, "mode": "subprocess"}}
iso = child.isolate(req, None)
out = {{"isolation": iso}}
try:
    import socket
    socket.create_connection(("127.0.0.1", {listener.port}), timeout=2)
    out["connect"] = "LEAK"
except Exception as e:
    out["connect"] = "blocked: " + type(e).__name__
try:
    open("/etc/passwd").read()
    out["read"] = "LEAK"
except Exception as e:
    out["read"] = "blocked: " + type(e).__name__
print(json.dumps(out))
"""
    p = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"}
    )
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert "net:audithook-only" in out["isolation"]
    assert "landlock" not in out["isolation"] and "seccomp" not in out["isolation"]
    assert out["connect"].startswith("blocked") and out["read"].startswith("blocked")
    assert listener.connections == 0


def test_thread_bomb_in_harness_is_contained(tmp_path):
    harness = (
        "import threading, time\n"
        "n = 0\n"
        "while True:\n"
        "    threading.Thread(target=time.sleep, args=(100,), daemon=True).start()\n"
        "    n += 1\n"
        "    if n % 100 == 0:\n"
        "        open('count.txt', 'w').write(str(n))\n"
    )
    res = sandbox.Executor(tmp_path, timeout_s=5, memory_mb=512).run("x = 1", harness=harness)
    assert not res.ok and res.error_type in ("RuntimeError", "MemoryError", "Timeout"), res
    assert res.duration_s < 12
    # the machine is fine: the next run works
    assert sandbox.Executor(tmp_path, timeout_s=20).run("x = 1").ok


def test_hostile_trees_are_cleaned_up_without_recursion_or_hangs(tmp_path):
    """A run leaves a tree 3,000 levels deep, a FIFO, symlinks out and many files: the executor's own symlink sweep
    and remove_tree get through all of it without RecursionError, without blocking on the FIFO and without
    following a link out of the workdir."""
    workdir, outside = tmp_path / "work", tmp_path / "outside"
    workdir.mkdir()
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    harness = (
        "import os\n"
        "for i in range(300):\n"
        "    open(f'f{i}', 'w').close()\n"
        "fd = os.open('.', os.O_RDONLY)\n"
        "for i in range(3000):\n"
        "    os.mkdir('d', dir_fd=fd)\n"
        "    nxt = os.open('d', os.O_RDONLY, dir_fd=fd)\n"
        "    os.close(fd)\n"
        "    fd = nxt\n"
        "os.close(os.open('deepest', os.O_CREAT | os.O_WRONLY, 0o600, dir_fd=fd))\n"
    )
    res = sandbox.Executor(workdir, timeout_s=60).run("x = 1", harness=harness)
    assert res.ok, (res.error_type, res.error)
    # the executor's symlink sweep has moved what lay deeper than it walks up into the workdir: all still there
    folders = [d for d, _, _ in os.walk(workdir)]
    assert len(folders) == 3001 and any("deepest" in fs for _, _, fs in os.walk(workdir))
    os.mkfifo(workdir / "d" / "pipe")  # as a run could have, had mknod() and symlink() not been refused
    os.symlink(outside, workdir / "out_link")
    os.symlink(outside / "keep.txt", workdir / "d" / "file_link")
    locked = workdir / "locked"
    locked.mkdir()
    (locked / "inner").mkdir()
    locked.chmod(0)
    assert sandbox.tree.remove_symlinks(workdir)
    assert not [n for d, ds, fs in os.walk(workdir) for n in ds + fs if os.path.islink(os.path.join(d, n))]
    sandbox.remove_tree(workdir)
    assert not workdir.exists()
    assert (outside / "keep.txt").read_text() == "keep"
    sandbox.remove_tree(workdir)  # a missing path is fine
