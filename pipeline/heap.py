"""Hand freed memory back to the operating system (glibc; a no-op elsewhere).

pandas and numpy allocate a column block of a million rows (8 MB) through malloc. glibc serves blocks of that
size from its heap once it has raised its mmap threshold (it does so after the first large block is freed), and
a freed heap block stays in the process. A fixed threshold keeps such blocks in their own mappings, returned on
free, and a trim after every phase gives back what is left over (docs/BENCHMARKS.md, the 1M-row runs).
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_MMAP_THRESHOLD = -3  # mallopt parameter number (malloc.h)
MMAP_THRESHOLD_BYTES = 1 << 20  # blocks of 1 MiB and more get their own mapping

_libc = None
try:
    _name = ctypes.util.find_library("c")
    if _name:
        _libc = ctypes.CDLL(_name)
        if not (hasattr(_libc, "mallopt") and hasattr(_libc, "malloc_trim")):  # glibc only; musl and macOS lack them
            _libc = None
except (OSError, AttributeError):
    _libc = None


def keep_large_blocks_apart() -> None:
    """Fix malloc's mmap threshold (setting it also stops glibc from raising it), and let Arrow allocate
    through malloc as well: its default pool (mimalloc) kept ~350 MB more after reading a 308 MiB feature
    frame from Parquet, and held it after the frame was gone."""
    if _libc is not None:
        _libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
    try:
        import pyarrow
    except ImportError:
        return
    pyarrow.set_memory_pool(pyarrow.system_memory_pool())


def give_back_free_memory() -> None:
    """Return the free pages of malloc's heap to the operating system."""
    if _libc is not None:
        _libc.malloc_trim(0)
