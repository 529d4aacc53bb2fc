"""Walking and removing a directory tree that hostile code built: no recursion, no symlink followed, no FIFO or
device opened, no path longer than one name.

A run may leave a tree thousands of levels deep (recursive walkers raise RecursionError, path-based ones hit
ENAMETOOLONG), symlinks out of the workdir, FIFOs that block whoever opens them, and directories it made
unreadable. Both functions work through directory descriptors one level at a time, and `remove_tree` flattens
the tree as it goes: the subdirectories of a directory are renamed up into the root, so each directory is
emptied with at most two descriptors open and every entry is touched a bounded number of times.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _open_dir(name: str, dir_fd: int | None) -> int | None:
    """A descriptor of directory `name` (never through a symlink), made readable if its owner locked it."""
    for attempt in range(2):
        try:
            return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
        except PermissionError:
            if attempt or dir_fd is None:
                return None
            try:
                os.chmod(name, 0o700, dir_fd=dir_fd, follow_symlinks=False)
            except (OSError, NotImplementedError):
                return None
        except OSError:
            return None
    return None


def _entries(fd: int) -> Iterator[tuple[str, bool, bool]]:
    """(name, is a real directory, is a symlink) for each entry of the directory open at `fd`."""
    try:
        with os.scandir(fd) as it:
            for entry in it:
                try:
                    mode = entry.stat(follow_symlinks=False).st_mode
                except OSError:
                    continue
                yield entry.name, stat.S_ISDIR(mode), stat.S_ISLNK(mode)
    except OSError:
        return


def remove_symlinks(root: str | os.PathLike) -> int:
    """Unlink every symlink under `root` (a run's links must not lead the trusted caller out); how many."""
    top = _open_dir(os.fspath(root), None)
    if top is None:
        return 0
    removed, stack = 0, [top]
    try:
        while stack:
            fd = stack.pop()
            try:
                for name, is_dir, is_link in list(_entries(fd)):
                    if is_link:
                        try:
                            os.unlink(name, dir_fd=fd)
                            removed += 1
                        except OSError:
                            pass
                    elif is_dir:
                        sub = _open_dir(name, fd)
                        if sub is not None:
                            stack.append(sub)
            finally:
                os.close(fd)
    finally:
        for fd in stack:
            os.close(fd)
    return removed


def remove_tree(path: str | os.PathLike) -> None:
    """Remove `path` and everything under it, however deep or odd; a missing path is fine.

    Errors on single entries are skipped (the caller decides what a leftover means); nothing here raises for the
    tree's shape."""
    path = os.fspath(path)
    try:
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            os.unlink(path)
            return
    except FileNotFoundError:
        return
    root = _open_dir(path, None)
    if root is None:
        return
    hoisted = 0
    try:
        while True:
            names = list(_entries(root))
            if not names:
                break
            progress = False
            for name, is_dir, _ in names:
                if not is_dir:
                    try:
                        os.unlink(name, dir_fd=root)
                        progress = True
                    except OSError:
                        pass
                    continue
                sub = _open_dir(name, root)
                if sub is None:
                    continue
                try:
                    for child, child_is_dir, _ in list(_entries(sub)):
                        try:
                            if child_is_dir:  # up into the root, to be emptied in a later pass
                                hoisted += 1
                                os.rename(child, f".rm-{hoisted}", src_dir_fd=sub, dst_dir_fd=root)
                            else:
                                os.unlink(child, dir_fd=sub)
                            progress = True
                        except OSError:
                            pass
                finally:
                    os.close(sub)
                try:
                    os.rmdir(name, dir_fd=root)
                    progress = True
                except OSError:
                    pass
            if not progress:
                break
    finally:
        os.close(root)
    try:
        os.rmdir(path)
    except OSError:
        pass
