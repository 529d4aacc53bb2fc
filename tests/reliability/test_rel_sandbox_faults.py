"""Generated code that exhausts the sandbox child's memory or fills its disk quota: the phase falls back."""

from __future__ import annotations

import pytest

from pipeline.brains.fallback import FallbackBrain
from pipeline.brains.offline import OfflineBrain
from pipeline.engine.execute import execute
from pipeline.engine.prepare import prepare
from pipeline.run.store import RunStore
from pipeline.state import RunConfig
from pipeline.tables.samples import sample_frame

pytestmark = pytest.mark.slow  # the whole module runs real pipelines, apps or browsers

MEMORY_BOMB = """
import numpy as np

def transform(df):
    hoard = []
    while True:
        hoard.append(np.ones(50_000_000))
    return df
"""

DISK_FILLER = """
import numpy as np

def make_plots(df, target, task):
    block = np.zeros(10_000_000)
    i = 0
    while True:
        np.save(f"fill_{i}.npy", block)
        i += 1
    return []
"""


class HostileBrain(OfflineBrain):
    """Writes code that attacks the sandbox's resource limits; everything else is the offline brain."""

    name = "hostile"

    def feature_code(self, request):
        return MEMORY_BOMB

    def plot_code(self, request):
        return DISK_FILLER


def test_memory_and_disk_exhaustion_fall_back_to_offline_code(tmp_path):
    data = tmp_path / "wine.csv"
    sample_frame("wine").to_csv(data, index=False)
    prepared = prepare(RunConfig(data_path=str(data), target="cultivar", time_budget_s=60, max_loops=0, max_trials=3))
    prepared.brain = FallbackBrain(HostileBrain(), scrub=lambda text: text)  # as make_brain wraps an LLM brain
    state = execute(prepared, tmp_path / "run", RunStore(tmp_path / "s.sqlite"))
    assert state.status == "finished", state.error
    failed = {e["kind"]: e for e in state.code_log if e["source"] == "hostile"}
    assert (
        failed["features"]["run_ok"] is False
        and "memory" in (failed["features"]["error_type"] + failed["features"]["error"]).lower()
    )
    plots_error = (failed["plots"]["error_type"] + " " + failed["plots"]["error"]).lower()
    assert failed["plots"]["run_ok"] is False and any(
        w in plots_error for w in ("disk", "file too large", "quota", "size")
    )
    fallback = [a for a in state.features.attempts if a.source.endswith("fallback")]
    assert fallback and fallback[0].kept, "the offline brain's feature code took over"
    assert state.plots.plots, "the offline brain's plots were drawn"
    assert not list((tmp_path / "run").rglob("fill_*.npy")), "the filler's files did not survive the run"
