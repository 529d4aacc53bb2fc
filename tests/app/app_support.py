"""What the app tests share: the runs home (fixed for the whole session before any page is imported: all
AppTest runs in this process share one Runner, since st.cache_resource is process-wide) and an AppTest of the
whole app."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOME = Path(tempfile.mkdtemp(prefix="mlp-apptest-"))
atexit.register(shutil.rmtree, HOME, True)
os.environ["MLPIPELINE_HOME"] = str(HOME)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def app_test(timeout: float = 60):
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
