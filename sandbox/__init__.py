"""sandbox -- the one gate every piece of generated Python goes through.

Usage::

    import sandbox
    sandbox.check(code)                          # CheckResult(ok, errors)
    ex = sandbox.Executor(workdir, timeout_s=120, memory_mb=2048)
    r = ex.run(code, harness=None)               # ExecResult
    ex.cancel()                                  # from another thread
    ns = sandbox.restricted_exec(code)           # language layer only, in-process:
                                                 # no file access unless workdir=

Threat model
------------
``code`` is always hostile: a language model wrote it after reading an
untrusted CSV, so column names and cell values can carry prompt injections.
The process calling us (Streamlit, the CLI) holds API keys in its
environment and runs as a user who can read and write things that matter.
The attacker wants to (1) read secrets (env vars, files, other processes'
``/proc/<pid>/environ``), (2) reach the network (exfiltrate, or attack
127.0.0.1 services), (3) write outside the run's workdir (canaries, dotfiles,
the next run's inputs), (4) deny service (hang, fork/memory/disk bombs,
outliving the timeout), (5) poison later runs (monkeypatch modules).

Layers, and what each stops
---------------------------
1. **Policy** (:mod:`sandbox.policy`, RestrictedPython): ``check`` compiles
   with RestrictedPython plus our rules and rejects on any error: no
   ``_``-names or dunder attributes (class walks via ``__subclasses__``,
   ``__globals__``, Cython ``func_globals``), no frame/generator/traceback
   internals, no ``except*``, no ``import *``, imports only of the module paths
   listed in ``policy.MODULE_API`` (pandas, numpy, scipy, sklearn, lightgbm,
   matplotlib, seaborn submodules by name; math, statistics, re, datetime,
   collections, itertools, functools, json, ...). At run time restricted code
   never holds a real module: imports give sandboxed module objects whose
   attributes are a curated allowlist (no internals such as ``pd.io``,
   ``pd.core``, ``np.lib``). The guards check every value reached by
   attribute or item access (real modules, frames/code, globals dicts,
   metaclasses and so the real ``type``, classes of os/io/pickle...), give
   ``type()`` only builtin, user and API classes, take only exact str/bytes
   paths inside the workdir for every reader/writer (by name or prefix, on
   modules and instances: ``df.to_csv``, ``booster.save_model``,
   ``canvas.print_png``...), refuse unpickling and string evaluation, check
   string dispatch (``df.agg("to_pickle")``, named aggregations,
   ``aggfunc=``) against an allowlist of names, refuse attribute/index walks
   in format templates (``str.format``, ``StrMethodFormatter``,
   ``set_titles``...), and refuse ``backend=``, ``memory=``, file-naming
   LightGBM parameters, risky rcParams and pandas options, also as attribute
   writes. The guards live in closures, out of reach of anything that
   writes into module namespaces. It holds on its own against the escape
   corpus (``tests/sandbox/test_language_layer.py``); resource exhaustion is
   left to the layers below.
2. **Fresh process per run** (:mod:`sandbox.zygote`): a clean zygote process
   (started by ``subprocess`` with a minimal environment, never forked from
   the caller) pre-imports the heavy libraries and forks one child per run;
   the child is never reused, so monkeypatching cannot leak into the next run.
   All inherited descriptors are closed. Stops (5) and most of (1).
3. **Environment**: the child's environment holds only PATH, HOME=workdir,
   LANG, thread-count variables and MPLCONFIGDIR. The zygote's own initial
   environment (what ``/proc/self/environ`` shows) is the same minimal set.
4. **Namespaces** (kernel: unprivileged user namespaces): new user + network
   namespace -- only a down loopback, so even 127.0.0.1 is unreachable and
   DNS fails. Stops (2).
5. **Landlock** (kernel >= 5.13): reads confined to the workdir + the Python
   installation + system libraries; writes to the workdir only; no symlink
   creation; TCP bind/connect denied (ABI >= 4); signals and abstract unix
   sockets scoped (ABI >= 6); ptrace-class access to outside processes --
   including ``/proc/<parent>/environ`` -- denied. Stops (1), (3), (2).
6. **seccomp** (x86-64): no ``socket``/``connect``, no ``fork``/``execve``
   (threads still work), no ``ptrace``/``process_vm_*``, no namespace or
   mount syscalls, no ``symlink``/``link``, no signals or prlimit to other
   processes, no io_uring, no TIOCSTI. Stops (2), fork bombs, (4) partly.
7. **rlimits**: RLIMIT_CPU, RLIMIT_DATA (memory; counts numpy buffers but
   not reserved address space, so imports still work), RLIMIT_FSIZE (SIGXFSZ
   ignored -> EFBIG), RLIMIT_NOFILE, RLIMIT_NPROC, RLIMIT_CORE=0.
8. **Wall clock**: the zygote SIGKILLs the child's process group at the
   deadline (SIGKILL cannot be caught); the caller also has a backstop and
   kills when the workdir grows past ``max_disk_mb``. Stops (4).
9. **Audit hook** (in-process, always on): denies opening files outside the
   workdir/installation, sockets, subprocess/exec/fork, ``ctypes.dlopen``,
   unpickling (``pickle.find_class``), new code objects, signals to other
   processes, and caps the number of files created. It is the weaker fallback
   the ``isolation`` field reports when the kernel layers are missing.

In-process use
--------------
``restricted_exec(code, extra_globals=None, workdir=None)`` compiles with the
same policy and runs in the calling process with the same guards, returning
the namespace (``PolicyError`` on a failed check).  It has no OS layer: use
it only for code that already passed through the sandbox (the exported model
applies its feature code this way at predict time).  Without ``workdir``
untrusted code gets no file access at all.

Trusted harness
---------------
``Executor.run(code, harness)``: in the child, ``code``'s module level runs
first with the restricted globals; then ``harness`` (our own pipeline's
source) runs as ordinary Python with ``user`` bound to the dict of names the
untrusted code defined.  Functions defined by untrusted code stay restricted
when the harness calls them (they were compiled with the guards).  The OS
layers apply to the whole child, harness included; the harness reads and
writes files in the workdir, which is how results come back.

``isolation`` names the layers actually applied, e.g.
``zygote+userns+netns+rlimits+landlock(v7)+seccomp+audithook``; when the zygote
cannot start, runs use a plain ``python`` subprocess (``subprocess+...``).
"""

from . import policy
from .executor import ExecResult, Executor, prewarm, shutdown_zygote
from .layers import REMAINING, missing_layers
from .policy import CheckResult, PolicyError, PolicyViolation, check, restricted_exec
from .tree import remove_tree
from .worker import Worker, WorkerError

__all__ = [
    "Worker",
    "WorkerError",
    "check",
    "CheckResult",
    "Executor",
    "ExecResult",
    "PolicyError",
    "PolicyViolation",
    "restricted_exec",
    "prewarm",
    "shutdown_zygote",
    "policy",
    "remove_tree",
    "missing_layers",
    "REMAINING",
]
