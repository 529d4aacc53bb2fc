"""A run to show: live from the runner, else recorded in the store (after a restart too), if this user may see it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.engine.service import RunHandle
from pipeline.run.store import load_state
from pipeline.state import RunState, as_found
from ui import access
from ui.runner import get_runner


@dataclass
class LoadedRun:
    state: RunState
    run_dir: Path
    handle: RunHandle | None
    version: int = 0  # snapshots the live run had published; 0 for a recorded run


def load_run(run_id: str) -> LoadedRun | None:
    """A live run from the registry, else a recorded one from the store (after a restart too)."""
    if not run_id:
        return None
    runner = get_runner()
    handle = runner.get(run_id)
    if handle is not None:
        snap, version = handle.versioned_snapshot()
        if snap is not None:
            return LoadedRun(snap, handle.run_dir, handle, version) if access.may_see(snap.config.owner) else None
    try:
        row = runner.store.get(run_id)
    except Exception:
        row = None
    if not row or not access.may_see(row.get("owner") or ""):
        return None
    run_dir = Path(row["run_dir"])
    try:
        state = load_state(run_dir)
    except (OSError, ValueError, KeyError):
        return None
    return LoadedRun(as_found(state), run_dir, None)
