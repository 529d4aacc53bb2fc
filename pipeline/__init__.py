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

# When this process began importing the engine: the CLI's --time-budget counts from here, so that
# start-up (imports, reading the file) is inside the budget the user asked for.
import time as _time

STARTED_AT = _time.monotonic()
