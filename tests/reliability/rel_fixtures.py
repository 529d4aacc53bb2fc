"""Shared set-up for the reliability tests (imported by each test module; not a conftest.py: a second
conftest module imported by name would shadow tests/app's).
The bad-file corpus is generated once per session.

The app tests share one Runner per process (st.cache_resource), so the runs home is only set here
when no other conftest (tests/app) set it first.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import pytest

if "MLPIPELINE_HOME" not in os.environ:
    _home = tempfile.mkdtemp(prefix="mlp-reliability-")
    atexit.register(shutil.rmtree, _home, True)
    os.environ["MLPIPELINE_HOME"] = _home
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    from make_bad_files import make_all

    return make_all(tmp_path_factory.mktemp("bad-files"))
