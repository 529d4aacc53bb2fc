"""Seconds spent fitting and predicting models, counted per thread.

Each run executes in its own thread, so a thread-local counter tells a run's model work apart from
its overhead (loading, profiling, sandboxed code, plots, state handling) without mixing runs.
The phase walker stores the difference per phase; the scale benchmark prints the split.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_local = threading.local()


def seconds() -> float:
    """Model-fitting seconds counted so far in this thread."""
    return getattr(_local, "seconds", 0.0)


@contextmanager
def fitting() -> Iterator[None]:
    """Count the enclosed block as model work (nested blocks are counted once)."""
    if getattr(_local, "active", False):
        yield
        return
    _local.active = True
    started = time.perf_counter()
    try:
        yield
    finally:
        _local.seconds = seconds() + time.perf_counter() - started
        _local.active = False
