"""sandbox.tree against trees a hostile run could leave: wide, deep, locked, full of links, as a non-root caller
and with few descriptors to spare."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import sbx_helpers  # noqa: F401  (puts the repository on sys.path)

NOBODY = 65534


def _as_nobody_with_few_descriptors(work: Path, action: str) -> str:
    """Run sandbox.tree's `action` on `work` in a forked child that is an unprivileged user (root ignores folder
    permissions) with RLIMIT_NOFILE at 64; what it returned, or the error it raised."""
    import resource

    import sandbox.tree

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop privileges, act, report, exit
        try:
            os.close(read)
            resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            answer = repr(getattr(sandbox.tree, action)(str(work)))
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            answer = f"error: {exc!r}"
        os.write(write, answer.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as fh:
        answer = fh.read()
    os.waitpid(pid, 0)
    return answer


def _owned_by_nobody(root: Path) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [dirpath, *(os.path.join(dirpath, n) for n in dirnames + filenames)]:
            os.lchown(name, NOBODY, NOBODY)


def test_wide_and_locked_trees_are_walked_and_removed_by_an_unprivileged_caller():
    base = Path(tempfile.mkdtemp(prefix="tree-test-"))
    try:
        os.chmod(base, 0o755)
        work, outside = base / "work", base / "outside"
        outside.mkdir()
        (outside / "keep.txt").write_text("keep")
        for i in range(300):  # more sibling folders than descriptors
            folder = work / f"wide{i}"
            folder.mkdir(parents=True)
            os.symlink(outside / "keep.txt", folder / "link")
        deep = work
        for _ in range(200):  # deeper than the walker holds open
            deep = deep / "d"
        deep.mkdir(parents=True)
        os.symlink(outside, deep / "out")
        locked = work / "locked"
        (locked / "inner").mkdir(parents=True)
        (locked / "inner" / "file").write_text("x")
        (locked / "file").write_text("x")
        _owned_by_nobody(base)
        os.chown(outside, 0, 0)
        os.chown(outside / "keep.txt", 0, 0)
        (locked / "inner").chmod(0o500)
        locked.chmod(0o500)
        assert _as_nobody_with_few_descriptors(work, "remove_symlinks") == "True"
        links = [
            os.path.join(d, n) for d, ds, fs in os.walk(work) for n in ds + fs if os.path.islink(os.path.join(d, n))
        ]
        assert links == []
        work.chmod(0)  # even the root locked
        assert _as_nobody_with_few_descriptors(work, "remove_tree") == "None"
        assert not work.exists()
        assert (outside / "keep.txt").read_text() == "keep"
    finally:
        subprocess.run(["chmod", "-R", "u+rwx", str(base)], check=False)
        subprocess.run(["rm", "-rf", str(base)], check=False)
