"""The headless engine, in layers from the bottom up: state and files, ml, tables, brains, run, phases, artifacts,
engine, cli (the README's architecture section has the map). Never imports streamlit."""

import os

# LightGBM's OpenMP threads busy-wait by default; on a shared 2-core machine (two runs at once, or a
# sandbox child beside the trainer) that made fits ~10x slower. Passive waiting costs little when idle.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from pipeline import heap as _heap  # noqa: E402  (after the environment is set)
from pipeline import moved as _moved  # noqa: E402

_moved.install()  # models saved before the runtime moved into pipeline.ml still load
_heap.keep_large_blocks_apart()  # freed frames go back to the OS, not into malloc's heap (see pipeline/heap.py)

import time as _time  # noqa: E402


def _process_age() -> float:
    """Seconds since this process started (Linux: its start in clock ticks since boot), or 0 where unknown.
    The interpreter's own start-up and the imports before this module ran take 0.2-0.5 s, which a budget
    counted from here would leave out."""
    try:
        with open("/proc/self/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")
        return max(0.0, _time.clock_gettime(_time.CLOCK_BOOTTIME) - started)
    except (OSError, ValueError, IndexError, AttributeError):
        return 0.0


# When this process started: the CLI's --time-budget counts from here, so that start-up (the interpreter,
# imports, reading the file) is inside the budget the user asked for.
STARTED_AT = _time.monotonic() - _process_age()
