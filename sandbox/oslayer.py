"""The OS layer, applied inside the freshly forked child before any untrusted
code runs: namespaces, rlimits, Landlock, seccomp, environment, audit hook.

Everything here only uses the standard library and libc through ctypes
(Python 3.11 has no ``os.unshare``).
"""

from __future__ import annotations

import ctypes
import os
import platform
import resource
import signal
import struct
import sys

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
PR_SET_NO_NEW_PRIVS = 38
PR_SET_DUMPABLE = 4
PR_SET_PDEATHSIG = 1
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2

IS_X86_64 = platform.machine() in ("x86_64", "AMD64")
SYS_landlock_create_ruleset = 444
SYS_landlock_add_rule = 445
SYS_landlock_restrict_self = 446

THREAD_VARS = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "LOKY_MAX_CPU_COUNT": "1",
}


def _err(what):
    e = ctypes.get_errno()
    return f"{what}: {os.strerror(e)}"


# --------------------------------------------------------------------------
# namespaces
# --------------------------------------------------------------------------
def unshare_net() -> str | None:
    """New user + network + IPC namespace: no interface but a down loopback, and none of the host's SysV shared
    memory, semaphores or message queues (nor POSIX message queues)."""
    if _libc.unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWIPC) == 0:
        return "userns+netns+ipcns"
    if _libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0:
        return None
    return "userns+netns"


def enter_pid_namespace() -> bool:
    """Run the rest of this process's life as PID 1 of a new PID namespace, in which no host process exists: the
    kill, priority, scheduler, affinity and pidfd calls, and any other probe by PID, reach nothing outside. This
    process forks once; the child returns True and goes on; the parent stays behind only to wait for it and to
    end the same way (exit code or signal), so whoever watches the parent sees the child's end. False (and no
    fork) where the host refuses the namespace (it needs the user namespace unshare_net made)."""
    if _libc.unshare(CLONE_NEWPID) != 0:
        return False
    pid = os.fork()
    if pid == 0:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        return True
    os.closerange(0, 1 << 16)  # the child holds every descriptor that matters; EOF must follow its end alone
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
        except ChildProcessError:
            os._exit(71)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 71)


# --------------------------------------------------------------------------
# Landlock
# --------------------------------------------------------------------------
class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


FS_EXECUTE = 1 << 0
FS_WRITE_FILE = 1 << 1
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
FS_REMOVE_DIR = 1 << 4
FS_REMOVE_FILE = 1 << 5
FS_MAKE_CHAR = 1 << 6
FS_MAKE_DIR = 1 << 7
FS_MAKE_REG = 1 << 8
FS_MAKE_SOCK = 1 << 9
FS_MAKE_FIFO = 1 << 10
FS_MAKE_BLOCK = 1 << 11
FS_MAKE_SYM = 1 << 12
FS_REFER = 1 << 13
FS_TRUNCATE = 1 << 14
FS_IOCTL_DEV = 1 << 15
FILE_ONLY = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV


def landlock_abi() -> int:
    if not sys.platform.startswith("linux"):
        return 0
    v = _libc.syscall(SYS_landlock_create_ruleset, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return int(v) if v > 0 else 0


class LandlockRuleset:
    """A Landlock ruleset built in two steps so the read-only part (the same
    for every run) can be prepared in the spare before the request arrives.

    Reads: the Python installation etc.; reads and writes: the workdir.  With
    ABI >= 4 all TCP bind/connect is denied, with ABI >= 6 abstract unix
    sockets and signals to processes outside the sandbox are denied; ptrace
    (hence /proc/<pid>/environ of any outside process) is denied by every ABI.
    """

    def __init__(self, read_paths):
        self.abi = landlock_abi()
        self.fd = -1
        if self.abi < 1:
            return
        fs = (1 << 13) - 1
        if self.abi >= 2:
            fs |= FS_REFER
        if self.abi >= 3:
            fs |= FS_TRUNCATE
        if self.abi >= 5:
            fs |= FS_IOCTL_DEV
        self.fs = fs
        attr = _RulesetAttr(fs, 3 if self.abi >= 4 else 0, 3 if self.abi >= 6 else 0)
        size = 24 if self.abi >= 6 else (16 if self.abi >= 4 else 8)
        rfd = _libc.syscall(SYS_landlock_create_ruleset, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
        if rfd < 0:
            return
        self.fd = int(rfd)
        for p in read_paths:
            self.add(p, FS_READ_FILE | FS_READ_DIR)

    def add(self, path, access) -> None:
        try:
            pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            return
        try:
            acc = access if os.path.isdir(path) else access & FILE_ONLY
            pb = _PathBeneath(acc & self.fs, pfd)
            if (
                _libc.syscall(
                    SYS_landlock_add_rule, ctypes.c_int(self.fd), ctypes.c_int(1), ctypes.byref(pb), ctypes.c_uint32(0)
                )
                != 0
            ):
                raise OSError(_err(f"landlock_add_rule {path}"))
        finally:
            os.close(pfd)

    def restrict(self, write_paths) -> str | None:
        if self.fd < 0:
            return None
        write = (
            FS_READ_FILE
            | FS_READ_DIR
            | FS_WRITE_FILE
            | FS_REMOVE_DIR
            | FS_REMOVE_FILE
            | FS_MAKE_DIR
            | FS_MAKE_REG
            | FS_REFER
            | FS_TRUNCATE
        ) & self.fs
        try:
            for p in write_paths:
                self.add(p, write)
            _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
            if _libc.syscall(SYS_landlock_restrict_self, ctypes.c_int(self.fd), ctypes.c_uint32(0)) != 0:
                return None
        finally:
            os.close(self.fd)
            self.fd = -1
        return f"landlock(v{self.abi})"


def landlock_restrict(read_paths, write_paths) -> str | None:
    """Confine the calling thread (and its future children) to the paths."""
    return LandlockRuleset(read_paths).restrict(write_paths)


# --------------------------------------------------------------------------
# seccomp
# --------------------------------------------------------------------------
class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


_BPF_LD_W_ABS = 0x20
_BPF_JEQ_K = 0x15
_BPF_JGE_K = 0x35
_BPF_JSET_K = 0x45
_BPF_RET_K = 0x06
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO_EPERM = 0x00050000 | 1
_RET_ERRNO_ENOSYS = 0x00050000 | 38
_RET_KILL_PROCESS = 0x80000000
_AUDIT_ARCH_X86_64 = 0xC000003E

# x86_64 syscall numbers denied outright (EPERM)
_DENY_X86_64 = {
    "socket": 41,
    "connect": 42,
    "accept": 43,
    "bind": 49,
    "listen": 50,
    "accept4": 288,
    "fork": 57,
    "vfork": 58,
    "execve": 59,
    "execveat": 322,
    "ptrace": 101,
    "process_vm_readv": 310,
    "process_vm_writev": 311,
    "tkill": 200,
    "mount": 165,
    "umount2": 166,
    "pivot_root": 155,
    "chroot": 161,
    "unshare": 272,
    "setns": 308,
    "keyctl": 250,
    "add_key": 248,
    "request_key": 249,
    "bpf": 321,
    "perf_event_open": 298,
    "userfaultfd": 323,
    "kexec_load": 246,
    "kexec_file_load": 320,
    "init_module": 175,
    "finit_module": 313,
    "delete_module": 176,
    "reboot": 169,
    "swapon": 167,
    "swapoff": 168,
    "symlink": 88,
    "symlinkat": 266,
    "link": 86,
    "linkat": 265,
    "io_uring_setup": 425,
    "io_uring_enter": 426,
    "io_uring_register": 427,
    "open_by_handle_at": 304,
    "name_to_handle_at": 303,
    "acct": 163,
    "quotactl": 179,
    "syslog": 103,
    "ioperm": 173,
    "iopl": 172,
    "mknod": 133,
    "mknodat": 259,
    "pidfd_open": 434,
    "pidfd_getfd": 438,
    "pidfd_send_signal": 424,
    "process_madvise": 440,
    "kcmp": 312,
    "move_pages": 279,
    "migrate_pages": 256,
    "setpriority": 141,
    "personality": 135,
    "settimeofday": 164,
    "clock_settime": 227,
    "adjtimex": 159,
    "vhangup": 153,
    "lookup_dcookie": 212,
    "fanotify_init": 300,
    "open_tree": 428,
    "move_mount": 429,
    "fsopen": 430,
    "fsmount": 432,
    "fsconfig": 431,
    "fspick": 433,
    "mount_setattr": 442,
    "process_mrelease": 448,
    # file metadata: Landlock does not govern it, so a file outside the workdir could be changed this way
    "chmod": 90,
    "fchmod": 91,
    "fchmodat": 268,
    "fchmodat2": 452,
    "chown": 92,
    "fchown": 93,
    "lchown": 94,
    "fchownat": 260,
    "utime": 132,
    "utimes": 235,
    "futimesat": 261,
    "utimensat": 280,
    "setxattr": 188,
    "lsetxattr": 189,
    "fsetxattr": 190,
    "removexattr": 197,
    "lremovexattr": 198,
    "fremovexattr": 199,
    "setxattrat": 463,  # Linux 6.13
    "removexattrat": 466,
    "open_tree_attr": 467,
    "file_setattr": 469,
    # memory the data limit does not count, file watches that see host names, I/O priority of any process
    "memfd_create": 319,
    "memfd_secret": 447,
    "inotify_init": 253,
    "inotify_init1": 294,
    "inotify_add_watch": 254,
    "ioprio_set": 251,
    # SysV IPC outright, on top of the IPC namespace
    "shmget": 29,
    "shmat": 30,
    "shmctl": 31,
    "semget": 64,
    "semop": 65,
    "semctl": 66,
    "msgget": 68,
    "msgsnd": 69,
    "msgrcv": 70,
    "msgctl": 71,
    "semtimedop": 220,
}
# calls allowed only on this process (first argument 0 or its own pid): signals with data, scheduling
_SELF_ONLY_X86_64 = {
    "kill": 62,
    "prlimit64": 302,
    "rt_sigqueueinfo": 129,
    "rt_tgsigqueueinfo": 297,
    "sched_setparam": 142,
    "sched_setscheduler": 144,
    "sched_setaffinity": 203,
    "sched_setattr": 314,
}
_FALLOCATE = 285  # EOPNOTSUPP: glibc's posix_fallocate then writes the bytes, which the file-size limit counts
_RET_ERRNO_EOPNOTSUPP = 0x00050000 | 95


def _ins(code, jt, jf, k):
    return struct.pack("HBBI", code, jt, jf, k & 0xFFFFFFFF)


def _seccomp_program(self_pid: int) -> bytes:
    p = [
        _ins(_BPF_LD_W_ABS, 0, 0, 4),
        _ins(_BPF_JEQ_K, 1, 0, _AUDIT_ARCH_X86_64),
        _ins(_BPF_RET_K, 0, 0, _RET_KILL_PROCESS),
        _ins(_BPF_LD_W_ABS, 0, 0, 0),
        _ins(_BPF_JGE_K, 0, 1, 0x40000000),  # x32 ABI
        _ins(_BPF_RET_K, 0, 0, _RET_ERRNO_EPERM),
    ]
    for nr in sorted(_DENY_X86_64.values()):
        p += [_ins(_BPF_JEQ_K, 0, 1, nr), _ins(_BPF_RET_K, 0, 0, _RET_ERRNO_EPERM)]
    # clone3: ENOSYS so glibc falls back to clone, which we can inspect
    p += [_ins(_BPF_JEQ_K, 0, 1, 435), _ins(_BPF_RET_K, 0, 0, _RET_ERRNO_ENOSYS)]
    # clone: threads only (CLONE_THREAD = 0x10000)
    p += [
        _ins(_BPF_JEQ_K, 0, 4, 56),
        _ins(_BPF_LD_W_ABS, 0, 0, 16),
        _ins(_BPF_JSET_K, 0, 1, 0x10000),
        _ins(_BPF_RET_K, 0, 0, _RET_ALLOW),
        _ins(_BPF_RET_K, 0, 0, _RET_ERRNO_EPERM),
    ]
    p += [_ins(_BPF_JEQ_K, 0, 1, _FALLOCATE), _ins(_BPF_RET_K, 0, 0, _RET_ERRNO_EOPNOTSUPP)]
    # only ourselves (0 = own process group / self)
    for nr in sorted(_SELF_ONLY_X86_64.values()):
        p += [
            _ins(_BPF_JEQ_K, 0, 5, nr),
            _ins(_BPF_LD_W_ABS, 0, 0, 16),
            _ins(_BPF_JEQ_K, 2, 0, 0),
            _ins(_BPF_JEQ_K, 1, 0, self_pid),
            _ins(_BPF_RET_K, 0, 0, _RET_ERRNO_EPERM),
            _ins(_BPF_RET_K, 0, 0, _RET_ALLOW),
        ]
    # tgkill: only our own thread group
    p += [
        _ins(_BPF_JEQ_K, 0, 4, 234),
        _ins(_BPF_LD_W_ABS, 0, 0, 16),
        _ins(_BPF_JEQ_K, 1, 0, self_pid),
        _ins(_BPF_RET_K, 0, 0, _RET_ERRNO_EPERM),
        _ins(_BPF_RET_K, 0, 0, _RET_ALLOW),
    ]
    # ioctl: no typing into a terminal (TIOCSTI), no inode flags or project attributes (FS_IOC_SETFLAGS,
    # FS_IOC_FSSETXATTR: metadata again, which Landlock does not govern)
    denied = (0x5412, 0x40086602, 0x401C5820)
    p += [_ins(_BPF_JEQ_K, 0, len(denied) + 3, 16), _ins(_BPF_LD_W_ABS, 0, 0, 24)]
    for i, request in enumerate(denied):
        p.append(_ins(_BPF_JEQ_K, len(denied) - i, 0, request))
    p += [_ins(_BPF_RET_K, 0, 0, _RET_ALLOW), _ins(_BPF_RET_K, 0, 0, _RET_ERRNO_EPERM)]
    p.append(_ins(_BPF_RET_K, 0, 0, _RET_ALLOW))
    return b"".join(p)


def seccomp_program() -> bytes | None:
    if not (IS_X86_64 and sys.platform.startswith("linux")):
        return None
    return _seccomp_program(os.getpid())


def seccomp_filter(prog: bytes | None = None) -> str | None:
    """No sockets, no fork/exec, no ptrace, no namespaces, no signals out."""
    if prog is None:
        prog = seccomp_program()
    if prog is None:
        return None
    buf = ctypes.create_string_buffer(prog, len(prog))
    fprog = _SockFprog(len(prog) // 8, ctypes.addressof(buf))
    _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    if _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog), 0, 0) != 0:
        return None
    return "seccomp"


# --------------------------------------------------------------------------
# rlimits
# --------------------------------------------------------------------------
def _current_data_bytes() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmData:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def set_rlimits(
    timeout_s: float, memory_mb: int, max_file_mb: int, max_open_files: int = 256, data_now: int | None = None
) -> str:
    def setl(res, soft, hard=None):
        hard = soft if hard is None else hard
        try:
            cur = resource.getrlimit(res)[1]
            if cur != resource.RLIM_INFINITY:
                soft, hard = min(soft, cur), min(hard, cur)
            resource.setrlimit(res, (soft, hard))
        except (ValueError, OSError):
            pass

    cpu = int(timeout_s) + 2
    setl(resource.RLIMIT_CPU, cpu, cpu + 2)
    mem = int(memory_mb) * 1024 * 1024
    # RLIMIT_DATA counts heap + private writable mappings (numpy buffers) but
    # not the address space OpenBLAS/jemalloc merely reserve, so imports work.
    if data_now is None:
        data_now = _current_data_bytes()
    setl(resource.RLIMIT_DATA, max(mem, data_now + (64 << 20)))
    setl(resource.RLIMIT_FSIZE, int(max_file_mb) * 1024 * 1024)
    setl(resource.RLIMIT_NOFILE, max_open_files)
    setl(resource.RLIMIT_CORE, 0)
    setl(resource.RLIMIT_NPROC, 512)
    setl(resource.RLIMIT_MSGQUEUE, 0)
    try:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG, not death
    except (ValueError, OSError):
        pass
    return "rlimits"


# --------------------------------------------------------------------------
# audit hook (in-process layer; also the fallback when the kernel says no)
# --------------------------------------------------------------------------
_DENIED_EVENTS = (
    "socket.",
    "subprocess.",
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "os.forkpty",
    "os.killpg",
    "os.symlink",
    "os.link",
    "ctypes.dlopen",
    "pickle.find_class",
    "code.__new__",
    "sys.addaudithook",
    "resource.setrlimit",
    "resource.prlimit",
    "urllib.",
    "http.client",
    "ftplib.",
    "smtplib.",
    "imaplib.",
    "poplib.",
    "nntplib.",
    "telnetlib.",
    "webbrowser.",
    "os.startfile",
    "pty.",
    "sys.setprofile",
    "sys.settrace",
    "os.chroot",
    "os.setuid",
    "os.setgid",
    "os.chdir",
    "os.mkfifo",
    "os.mknod",
    "shutil.chown",
    "os.chown",
    "mmap.__new__",
    "_posixsubprocess",
    "sqlite3.",
)


class SandboxAuditError(PermissionError):
    pass


def install_audit_hook(read_roots, write_roots, max_files: int, resolved: bool = False) -> str:
    if not resolved:
        read_roots = tuple(os.path.realpath(p) for p in read_roots)
        write_roots = tuple(os.path.realpath(p) for p in write_roots)
    read_roots, write_roots = tuple(read_roots), tuple(write_roots)
    created = [0]
    self_pid = os.getpid()
    wflags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
    realpath = os.path.realpath
    sep = os.sep
    # everything the hook uses is bound here: rebinding this module's globals
    # (or builtins) later cannot change its policy
    fsdecode, denied_events, AuditError = os.fsdecode, _DENIED_EVENTS, SandboxAuditError
    isinstance_, bool_, any_, int_, str_, o_creat = isinstance, bool, any, int, str, os.O_CREAT

    def under(path, roots):
        for r in roots:
            if path == r or path.startswith(r + sep):
                return True
        return False

    def hook(event, args):
        if event == "open":
            path = args[0]
            if isinstance_(path, int_) or path is None:
                return
            mode, flags = args[1], args[2]
            try:
                p = realpath(fsdecode(path))
            except Exception:  # noqa: BLE001
                raise AuditError("open denied") from None
            writing = bool_(flags & wflags) or (isinstance_(mode, str_) and any_(c in mode for c in "wax+"))
            if writing:
                if not under(p, write_roots):
                    raise AuditError(f"writing {p!r} (outside the workdir) is not allowed")
                if flags & o_creat or (isinstance_(mode, str_) and any_(c in mode for c in "wax")):
                    created[0] += 1
                    if created[0] > max_files:
                        raise AuditError("too many files written")
            elif not under(p, write_roots) and not under(p, read_roots):
                raise AuditError(f"reading {p!r} (outside the workdir) is not allowed")
            return
        if event == "os.kill":
            if args[0] not in (0, self_pid):
                raise AuditError("signalling other processes is not allowed")
            return
        if event.startswith(denied_events):
            raise AuditError(f"{event} is not allowed in the sandbox")

    sys.addaudithook(hook)
    return "audithook"


class Prepared:
    """Request-independent setup, done in a spare before the request."""

    def __init__(self, extra_roots=()):
        self.extra = tuple(extra_roots)
        self.roots = read_roots(self.extra)
        self.landlock = LandlockRuleset(self.roots)
        self.seccomp = seccomp_program()
        self.data_now = _current_data_bytes()

    def keep_fds(self):
        return [self.landlock.fd] if self.landlock.fd >= 0 else []


def child_env(workdir: str, mplconfigdir: str | None) -> dict:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": workdir,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TMPDIR": workdir,
        "MPLBACKEND": "Agg",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.update(THREAD_VARS)
    if mplconfigdir:
        env["MPLCONFIGDIR"] = mplconfigdir
    return env


def read_roots(extra=()) -> list:
    """What the child may read besides the workdir: the Python installation,
    system libraries, time zones and fonts."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix}
    prefixes = tuple(os.path.realpath(p) for p in roots)
    for p in sys.path:
        if p and os.path.isdir(p):
            rp = os.path.realpath(p)
            if "-packages" in rp or rp.startswith(prefixes):
                roots.add(rp)
    roots.update(
        [
            "/usr/lib",
            "/usr/lib64",
            "/lib",
            "/lib64",
            "/usr/local/lib",
            "/usr/share/zoneinfo",
            "/usr/share/fonts",
            "/usr/share/matplotlib",
            "/etc/fonts",
            "/dev/null",
            "/dev/urandom",
            "/dev/zero",
            "/etc/localtime",
            # CPU/memory discovery by joblib, threadpoolctl, OpenMP
            "/sys/fs/cgroup",
            "/sys/devices/system/cpu",
            "/proc/cpuinfo",
            "/proc/meminfo",
            "/proc/stat",
            # the process's own /proc entry (resolved: never another
            # process's; /proc/<parent> stays unreadable)
            os.path.realpath("/proc/self"),
        ]
    )
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    roots.add(os.path.join(pkg_parent, "sandbox"))
    roots.update(extra)
    out = []
    for r in roots:
        if r and os.path.exists(r):
            out.append(os.path.realpath(r))
    return sorted(set(out))
