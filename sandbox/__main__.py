"""CLI: ``python -m sandbox check FILE`` / ``python -m sandbox run FILE
--workdir DIR [--timeout S] [--memory-mb M]``.

Prints exactly one JSON object on stdout; exit 0 when the check/run itself
worked (whatever the user code did), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        print(json.dumps({"ok": False, "error_type": "UsageError", "error": message}))
        sys.exit(2)


def _usage(msg):
    print(json.dumps({"ok": False, "error_type": "UsageError", "error": msg}))
    return 2


def main(argv=None) -> int:
    p = _Parser(prog="python -m sandbox")
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check", help="statically check a file")
    c.add_argument("file")
    r = sub.add_parser("run", help="check, then run a file in the sandbox")
    r.add_argument("file")
    r.add_argument("--workdir", required=True)
    r.add_argument("--timeout", type=float, default=120.0)
    r.add_argument("--memory-mb", type=int, default=2048)
    r.add_argument(
        "--zygote",
        action="store_true",
        help="start the pre-warmed zygote (pays off only for "
        "many runs; a one-shot run uses a fresh subprocess "
        "with the same layers)",
    )
    a = p.parse_args(argv)
    try:
        with open(a.file, encoding="utf-8") as f:
            code = f.read()
    except (OSError, UnicodeDecodeError) as e:
        return _usage(f"cannot read {a.file}: {e.__class__.__name__}")
    import sandbox

    if a.cmd == "check":
        print(json.dumps(sandbox.check(code).to_dict()))
        return 0
    if a.timeout <= 0 or a.memory_mb <= 0:
        return _usage("--timeout and --memory-mb must be positive")
    if not os.path.isdir(a.workdir):
        return _usage(f"workdir {a.workdir} is not a directory")
    res = sandbox.Executor(a.workdir, timeout_s=a.timeout, memory_mb=a.memory_mb, use_zygote=a.zygote).run(code)
    print(json.dumps(res.to_dict()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
