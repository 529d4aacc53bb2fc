"""The run store: one SQLite row per run (for listing) plus the run directory (for everything else).

Writes are transactional (SQLite, WAL) or atomic (temp file + rename), so a crash or a full disk
never leaves a half-written record that looks finished.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pipeline.files import json_default
from pipeline.state import INTERRUPTED, LIVE_STATUSES, RunState, run_state_from_dict

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    finished_at REAL,
    status TEXT NOT NULL,
    dataset TEXT,
    target TEXT,
    task TEXT,
    metric TEXT,
    cv_score REAL,
    holdout_score REAL,
    brain TEXT,
    model TEXT,
    duration_s REAL,
    run_dir TEXT NOT NULL,
    owner TEXT DEFAULT ''
);
CREATE INDEX IF NOT EXISTS runs_created ON runs(created_at);
CREATE TABLE IF NOT EXISTS registry (
    run_id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    dataset TEXT,
    dataset_hash TEXT,
    target TEXT,
    metric TEXT,
    cv_score REAL,
    holdout_score REAL,
    model TEXT,
    lineage TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS registry_dataset ON registry(dataset_hash);
CREATE TABLE IF NOT EXISTS production (
    dataset_hash TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    marked_at REAL NOT NULL
);
"""


class StoreError(RuntimeError):
    """The store or the runs folder cannot be written (read-only, disk full...)."""


def default_home() -> Path:
    return Path(os.environ.get("MLPIPELINE_HOME", "runs")).resolve()


class RunStore:
    """SQLite index of runs. Thread-safe: every call opens its own short-lived connection."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else default_home() / "store.sqlite"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as con:
                con.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"The run store at {self.path} cannot be opened for writing ({exc}).") from None

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=30)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA busy_timeout=30000")
            con.row_factory = sqlite3.Row
            with con:
                yield con
        finally:
            con.close()

    def upsert(self, state: RunState, run_dir: Path) -> None:
        metric = state.objective.metric
        hold = state.evaluation.holdout_metrics.get(metric)
        selected = next((s for s in state.iterations if s.iteration == state.selected_iteration), None)
        if selected is not None:
            hold = selected.holdout_metrics.get(metric, hold)
        row = {
            "run_id": state.run_id,
            "created_at": state.created_at,
            "finished_at": state.finished_at,
            "status": state.status,
            "dataset": state.config.dataset_name or Path(state.config.data_path).name,
            "target": state.profile.target or state.config.target,
            "task": state.profile.task,
            "metric": metric,
            "cv_score": selected.cv_score if selected else state.training.cv_score,
            "holdout_score": hold,
            "brain": state.config.brain,
            "model": selected.model if selected else state.training.best,
            "duration_s": (state.finished_at - state.created_at) if state.finished_at else None,
            "run_dir": str(run_dir),
            "owner": state.config.owner,
        }
        cols = ", ".join(row)
        marks = ", ".join(f":{k}" for k in row)
        updates = ", ".join(f"{k}=excluded.{k}" for k in row if k != "run_id")
        try:
            with self._connect() as con:
                con.execute(
                    f"INSERT INTO runs ({cols}) VALUES ({marks}) ON CONFLICT(run_id) DO UPDATE SET {updates}", row
                )
        except sqlite3.Error as exc:
            raise StoreError(f"The run store could not be updated ({exc}).") from None
        lineage_path = Path(run_dir) / "lineage.json"
        if state.status == "finished" and lineage_path.is_file():
            lineage = json.loads(lineage_path.read_text())
            lineage.update(run_id=state.run_id, created_at=state.created_at)
            self.register(lineage)

    # --- model registry ------------------------------------------------------------------------
    def register(self, lineage: dict[str, Any]) -> None:
        """Add (or refresh) a finished run's model and its lineage in the registry."""
        row = {
            "run_id": lineage["run_id"],
            "created_at": lineage["created_at"],
            "dataset": lineage["dataset"]["name"],
            "dataset_hash": lineage["dataset"]["hash"],
            "target": lineage["target"],
            "metric": lineage["metric"],
            "cv_score": lineage["cv_score"],
            "holdout_score": lineage["holdout_score"],
            "model": lineage["model"],
            "lineage": json.dumps(lineage, default=json_default),
        }
        cols, marks = ", ".join(row), ", ".join(f":{k}" for k in row)
        updates = ", ".join(f"{k}=excluded.{k}" for k in row if k != "run_id")
        try:
            with self._connect() as con:
                con.execute(
                    f"INSERT INTO registry ({cols}) VALUES ({marks}) ON CONFLICT(run_id) DO UPDATE SET {updates}", row
                )
        except sqlite3.Error as exc:
            raise StoreError(f"The model registry could not be updated ({exc}).") from None

    def registry(self, dataset_hash: str | None = None) -> list[dict[str, Any]]:
        """Registered models (newest first) with their lineage and a `production` flag."""
        query = (
            "SELECT r.*, (p.run_id IS NOT NULL) AS production FROM registry r "
            "LEFT JOIN production p ON p.dataset_hash = r.dataset_hash AND p.run_id = r.run_id"
        )
        args: tuple = ()
        if dataset_hash:
            query += " WHERE r.dataset_hash = ?"
            args = (dataset_hash,)
        with self._connect() as con:
            rows = [dict(r) for r in con.execute(query + " ORDER BY r.created_at DESC", args)]
        for r in rows:
            r["lineage"] = json.loads(r["lineage"])
            r["production"] = bool(r["production"])
        return rows

    def set_production(self, run_id: str) -> str:
        """Mark a registered model as the production one for its dataset (replacing the previous one)."""
        with self._connect() as con:
            row = con.execute("SELECT dataset_hash FROM registry WHERE run_id = ?", (run_id,)).fetchone()
            if row is None:
                raise KeyError(f"run {run_id} is not in the model registry (only finished runs are)")
            con.execute(
                "INSERT INTO production (dataset_hash, run_id, marked_at) VALUES (?, ?, ?) "
                "ON CONFLICT(dataset_hash) DO UPDATE SET run_id=excluded.run_id, marked_at=excluded.marked_at",
                (row["dataset_hash"], run_id, time.time()),
            )
            return row["dataset_hash"]

    def production(self, dataset_hash: str) -> str | None:
        with self._connect() as con:
            row = con.execute("SELECT run_id FROM production WHERE dataset_hash = ?", (dataset_hash,)).fetchone()
        return row["run_id"] if row else None

    def list(self, owner: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
        query = "SELECT * FROM runs"
        args: tuple = ()
        if owner is not None:
            query += " WHERE owner = ?"
            args = (owner,)
        query += " ORDER BY created_at DESC LIMIT ?"
        with self._connect() as con:
            return [dict(r) for r in con.execute(query, args + (limit,))]

    def get(self, run_id: str) -> dict[str, Any] | None:
        with self._connect() as con:
            row = con.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return dict(row) if row else None

    def delete(self, run_id: str) -> None:
        with self._connect() as con:
            con.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))
            con.execute("DELETE FROM registry WHERE run_id = ?", (run_id,))
            con.execute("DELETE FROM production WHERE run_id = ?", (run_id,))

    def mark_interrupted(self) -> int:
        """Runs left 'running' by a process that died are marked interrupted (called at start-up)."""
        with self._connect() as con:
            cur = con.execute(
                f"UPDATE runs SET status=? WHERE status IN ({', '.join('?' * len(LIVE_STATUSES))})",
                (INTERRUPTED, *LIVE_STATUSES),
            )
            return cur.rowcount


def load_state(run_dir: str | Path) -> RunState:
    data = json.loads((Path(run_dir) / "run.json").read_text())
    return run_state_from_dict(data["state"])


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + os.urandom(3).hex()
