"""Hyperparameter tuning as a job any process can join: the trainer's own loop and `tune-worker`s.

With `OPTUNA_STORAGE` set (an SQLAlchemy URL: a SQLite file for several local processes,
PostgreSQL for several machines), the study lives in that database and the job's data is written
to `<run dir>/tuning/`; `python -m pipeline tune-worker --run DIR` processes then add trials to the
same study until the job's deadline, and the trainer picks the best trial whoever ran it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import sys
import time
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd

from pipeline.ml.cv import OutOfTime, metrics_from_oof, oof_predictions
from pipeline.ml.metrics import best_threshold
from pipeline.ml.models import make_pipeline
from pipeline.state import TERMINAL_STATUSES

JOB_DIR = "tuning"


@dataclass
class TuningJob:
    """What a tuning process needs besides the data (saved as tuning/job.json)."""

    study_name: str
    family: str
    base_params: dict[str, Any]
    search_space: dict[str, list[Any]]
    class_weight: str | None
    seed: int
    task: str
    metric: str
    greater_is_better: bool
    tune_threshold: bool
    classes: list[Any] | None
    positive_index: int
    deadline_unix: float
    max_trials: int | None = None  # study-wide: every process's trials count (None: until the deadline)
    done: bool = False


def score_oof(
    job: TuningJob, y: pd.Series, oof: np.ndarray, rows: np.ndarray | None = None
) -> tuple[dict[str, float], float | None]:
    """Metrics at the CV-tuned threshold (threshold metrics) or at argmax / identity otherwise."""
    threshold = None
    if job.tune_threshold:
        yy = y.to_numpy() if rows is None else y.to_numpy()[rows]
        pp = oof if rows is None else oof[rows]
        threshold = best_threshold(yy, pp[:, job.positive_index], job.classes[job.positive_index], job.metric)
    return metrics_from_oof(y, oof, job.task, job.classes, threshold, job.positive_index, rows), threshold


def suggest(trial: optuna.Trial, space: dict[str, list[Any]]) -> dict[str, Any]:
    """Turn the brain's search-space notation into Optuna suggestions; malformed entries are skipped."""
    params: dict[str, Any] = {}
    for name, spec in space.items():
        try:
            kind = spec[0]
            if kind == "int":
                low, high = sorted((int(spec[1]), int(spec[2])))
                params[name] = trial.suggest_int(name, low, high, log=low > 0 and high / max(low, 1) > 20)
            elif kind == "float":
                low, high = sorted((float(spec[1]), float(spec[2])))
                params[name] = trial.suggest_float(name, low, high, log=len(spec) > 3 and spec[3] == "log" and low > 0)
            elif kind == "cat":
                params[name] = trial.suggest_categorical(name, list(spec[1]))
        except (IndexError, TypeError, ValueError):
            continue
    return params


def cv_params(
    job: TuningJob,
    params: dict[str, Any],
    X: pd.DataFrame,
    y: pd.Series,
    folds,
    on_fold: Callable[[int, np.ndarray, np.ndarray], None] | None = None,
    deadline: float | None = None,
    fold_estimate: float | None = None,
) -> np.ndarray:
    return oof_predictions(
        lambda Xf: make_pipeline(job.family, job.task, params, Xf, job.class_weight, job.seed),
        X,
        y,
        folds,
        job.task,
        job.classes,
        on_fold,
        deadline=deadline,
        fold_estimate=fold_estimate,
    )


def make_objective(
    job: TuningJob,
    X: pd.DataFrame,
    y: pd.Series,
    folds,
    stop: Callable[[], bool],
    on_result: Callable[[dict[str, Any], float, np.ndarray, float], None] | None = None,
    fold_estimate: float | None = None,
) -> Callable[[optuna.Trial], float]:
    """The CV objective with per-fold pruning; `stop()` ends the study before a trial or between folds
    (cancel, deadline, the run finished the job). A fold that would end past the job's deadline is not started
    (`fold_estimate`: seconds a fold is expected to take before one has been timed)."""
    deadline = time.monotonic() + max(0.0, job.deadline_unix - time.time())

    def objective(trial: optuna.Trial) -> float:
        if stop():
            trial.study.stop()
            raise optuna.TrialPruned()
        params = {**job.base_params, **suggest(trial, job.search_space)}
        began = time.monotonic()
        trial.set_user_attr("worker", worker_id())
        seen: list[np.ndarray] = []

        def on_fold(i: int, va: np.ndarray, oof: np.ndarray) -> None:
            if stop():  # a worker's trial must not keep the CPU busy once the run has moved on
                trial.study.stop()
                raise optuna.TrialPruned()
            seen.append(va)
            trial.report(score_oof(job, y, oof, np.concatenate(seen))[0][job.metric], i)
            if trial.should_prune():
                raise optuna.TrialPruned()

        try:
            oof = cv_params(job, params, X, y, folds, on_fold, deadline, fold_estimate)
        except OutOfTime:
            trial.study.stop()
            raise optuna.TrialPruned() from None
        value = score_oof(job, y, oof)[0][job.metric]
        if on_result is not None:
            on_result(params, value, oof, time.monotonic() - began)
        return value

    return objective


def create_study(job: TuningJob, storage: str | None, seed: int | None = None) -> optuna.Study:
    """The job's study (created or joined). Each process needs its own sampler `seed`: samplers seeded alike
    propose the same parameters, so workers would repeat the run's trials instead of adding new ones."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(
        study_name=job.study_name,
        storage=storage,
        load_if_exists=True,
        direction="maximize" if job.greater_is_better else "minimize",
        sampler=_sampler(job.seed if seed is None else seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=1),
    )


def _sampler(seed: int) -> optuna.samplers.TPESampler:
    """TPE that, while other trials run (threads of this process or tune-workers), treats their points as bad
    ones ("constant liar") instead of proposing the same region again."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=5, constant_liar=True)


def trial_cap(job: TuningJob) -> list[Callable[[optuna.Study, optuna.trial.FrozenTrial], None]]:
    """Optuna's study-wide trial cap: trials of every process count, running ones included, so workers
    take a share of the trials instead of adding to them (at most one extra trial per other process)."""
    return [] if not job.max_trials else [optuna.study.MaxTrialsCallback(job.max_trials, states=None)]


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def publish_job(run_dir: Path, job: TuningJob, X: pd.DataFrame, y: pd.Series, folds) -> None:
    """Write the job and its data so other processes can join (only when a shared storage is set)."""
    folder = Path(run_dir) / JOB_DIR
    folder.mkdir(parents=True, exist_ok=True)
    X.to_parquet(folder / f"{job.study_name}_X.parquet")
    pd.DataFrame({"y": y}).to_parquet(folder / f"{job.study_name}_y.parquet")
    np.savez(folder / f"{job.study_name}_folds.npz", *[a for pair in folds for a in pair])
    _write_job(folder, job)


def finish_job(run_dir: Path, job: TuningJob) -> None:
    job.done = True
    _write_job(Path(run_dir) / JOB_DIR, job)


def _write_job(folder: Path, job: TuningJob) -> None:
    tmp = folder / ".job.json.tmp"
    tmp.write_text(json.dumps(dataclasses.asdict(job), default=str))
    os.replace(tmp, folder / "job.json")


def _load_job(folder: Path) -> tuple[TuningJob, pd.DataFrame, pd.Series, list] | None:
    try:
        job = TuningJob(**json.loads((folder / "job.json").read_text()))
    except (OSError, ValueError, TypeError):
        return None
    X = pd.read_parquet(folder / f"{job.study_name}_X.parquet")
    y = pd.read_parquet(folder / f"{job.study_name}_y.parquet")["y"]
    arrays = np.load(folder / f"{job.study_name}_folds.npz")
    flat = [arrays[f"arr_{i}"] for i in range(len(arrays.files))]
    return job, X, y, list(zip(flat[0::2], flat[1::2]))


def _run_over(run_dir: Path) -> bool:
    try:
        status = json.loads((run_dir / "run.json").read_text())["status"]
    except (OSError, ValueError, KeyError):
        return False
    return status in TERMINAL_STATUSES


def worker(run_dir: str | Path, storage: str | None = None, wait_s: float = 600.0) -> int:
    """Join every tuning job of a run until the run ends; returns the number of trials this worker ran."""
    run_dir = Path(run_dir)
    storage = storage or os.environ.get("OPTUNA_STORAGE")
    if not storage:
        raise ValueError("tune-worker needs OPTUNA_STORAGE (a database URL shared with the run).")
    joined: set[str] = set()
    ran = 0
    started = time.monotonic()
    while not _run_over(run_dir) and time.monotonic() - started < wait_s:
        loaded = _load_job(run_dir / JOB_DIR) if (run_dir / JOB_DIR / "job.json").exists() else None
        if loaded is None or loaded[0].done or loaded[0].study_name in joined or loaded[0].deadline_unix <= time.time():
            time.sleep(0.2)
            continue
        job, X, y, folds = loaded
        joined.add(job.study_name)
        study = create_study(job, storage, seed=zlib.crc32(f"{worker_id()}:{job.seed}".encode()))
        folder = run_dir / JOB_DIR

        def stop(folder: Path = folder, job: TuningJob = job) -> bool:
            current = _load_job_flag(folder)
            return time.time() >= job.deadline_unix or current

        before = len(study.trials)
        if job.max_trials and len(study.trials) >= job.max_trials:
            continue
        study.optimize(
            make_objective(job, X, y, folds, stop),
            timeout=max(0.0, job.deadline_unix - time.time()),
            catch=(ValueError, np.linalg.LinAlgError),
            callbacks=trial_cap(job),
        )
        mine = [t for t in study.get_trials(deepcopy=False)[before:] if t.user_attrs.get("worker") == worker_id()]
        ran += len(mine)
        print(f"tune-worker: {len(mine)} trials for {job.study_name}", file=sys.stderr)
    return ran


def _load_job_flag(folder: Path) -> bool:
    try:
        return bool(json.loads((folder / "job.json").read_text()).get("done"))
    except (OSError, ValueError):
        return False
