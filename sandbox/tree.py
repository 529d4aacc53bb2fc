"""Walking and removing a directory tree that hostile code built: no recursion, no symlink followed, no FIFO or
device opened, no path longer than one name, a bounded number of descriptors.

A run may leave a tree thousands of levels deep (recursive walkers raise RecursionError, path-based ones hit
ENAMETOOLONG), thousands of sibling folders (a walker that opens every pending folder runs out of descriptors),
symlinks out of the workdir, FIFOs that block whoever opens them, and folders it made unreadable or unwritable.
Both functions work through directory descriptors one level at a time; folders deeper than MAX_DEPTH are moved
up into the root first (nothing a run returns lives that deep), and `remove_tree` flattens the whole tree that
way, so each folder is emptied with at most two descriptors open. The caller owns every file, so a folder the
run locked is made the owner's again (rwx) before it is entered.
"""

from __future__ import annotations

import os
import stat

MAX_DEPTH = 32  # folders held open at once while looking for symlinks
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_OWNER_RWX = stat.S_IRWXU


def _make_mine(name: str, dir_fd: int | None) -> None:
    """rwx for the owner on folder `name`, through an O_PATH handle (which needs no permission on the folder and
    never follows a symlink)."""
    try:
        handle = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return
    try:
        os.chmod(f"/proc/self/fd/{handle}", _OWNER_RWX)
    except OSError:
        pass
    finally:
        os.close(handle)


def _open_dir(name: str, dir_fd: int | None, mode: int | None = None) -> int | None:
    """A descriptor of folder `name` (never through a symlink), made rwx for its owner first when it is not."""
    if mode is not None and mode & _OWNER_RWX != _OWNER_RWX:
        _make_mine(name, dir_fd)
    for attempt in range(2):
        try:
            return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
        except PermissionError:
            if attempt:
                return None
            _make_mine(name, dir_fd)
        except OSError:
            return None
    return None


def _entries(fd: int) -> list[tuple[str, int]] | None:
    """(name, lstat mode) of each entry of the folder open at `fd`; None when it cannot be listed (e.g. no
    descriptor left for the listing)."""
    try:
        with os.scandir(fd) as it:
            out = []
            for entry in it:
                try:
                    out.append((entry.name, entry.stat(follow_symlinks=False).st_mode))
                except OSError:
                    continue
            return out
    except OSError:
        return None


def _move_up(name: str, src_fd: int, root_fd: int, prefix: str, counter: list[int]) -> str | None:
    """Rename folder `name` into the root under a fresh name (a run may have taken some); the new name."""
    for _ in range(100):
        counter[0] += 1
        target = f"{prefix}{counter[0]}"
        try:
            os.rename(name, target, src_dir_fd=src_fd, dst_dir_fd=root_fd)
            return target
        except (FileExistsError, IsADirectoryError, NotADirectoryError):
            continue
        except OSError as exc:
            if exc.errno != 39:  # ENOTEMPTY: the name is taken by a folder
                return None
    return None


def remove_symlinks(root: str | os.PathLike) -> bool:
    """Unlink every symlink under `root` (a run's links must not lead the trusted caller out). True when every
    folder was walked; False when one could not be opened or listed (the caller must not trust the tree then)."""
    top = _open_dir(os.fspath(root), None)
    if top is None:
        return False
    complete, counter, later = True, [0], [None]
    try:
        while later:
            start = later.pop()
            first = top if start is None else _open_dir(start, top)
            listing = None if first is None else _entries(first)
            if listing is None:
                complete = False
                if first is not None and first != top:
                    os.close(first)
                continue
            stack = [(first, listing)]
            while stack:
                fd, pending = stack[-1]
                if not pending:
                    if fd != top:
                        os.close(fd)
                    stack.pop()
                    continue
                name, mode = pending.pop()
                if stat.S_ISLNK(mode):
                    try:
                        os.unlink(name, dir_fd=fd)
                    except OSError:
                        complete = False
                elif stat.S_ISDIR(mode):
                    if len(stack) >= MAX_DEPTH:  # up into the root, walked from there
                        if mode & _OWNER_RWX != _OWNER_RWX:  # moving a folder writes its ".."
                            _make_mine(name, fd)
                        moved = _move_up(name, fd, top, ".deep-", counter)
                        if moved is None:
                            complete = False
                        else:
                            later.append(moved)
                        continue
                    sub = _open_dir(name, fd, mode)
                    listing = None if sub is None else _entries(sub)
                    if listing is None:
                        complete = False
                        if sub is not None:
                            os.close(sub)
                        continue
                    stack.append((sub, listing))
    finally:
        os.close(top)
    return complete


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
    _make_mine(path, None)
    root = _open_dir(path, None)
    if root is None:
        return
    counter = [0]
    try:
        while True:
            names = _entries(root)
            if not names:
                break
            progress = False
            for name, mode in names:
                if not stat.S_ISDIR(mode):
                    try:
                        os.unlink(name, dir_fd=root)
                        progress = True
                    except OSError:
                        pass
                    continue
                sub = _open_dir(name, root, mode)
                if sub is None:
                    continue
                try:
                    for child, child_mode in _entries(sub) or []:
                        if stat.S_ISDIR(child_mode):  # up into the root, to be emptied in a later pass
                            if child_mode & _OWNER_RWX != _OWNER_RWX:  # moving a folder writes its ".."
                                _make_mine(child, sub)
                            progress = _move_up(child, sub, root, ".rm-", counter) is not None or progress
                            continue
                        try:
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
