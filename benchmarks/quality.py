"""Quality benchmark: the pipeline's CLI against LightGBM defaults, FLAML and AutoGluon on real tables.

Built so that it cannot flatter the pipeline:
- 25 real tables (benchmarks/tables.py), split into a "dev" group that methods may be tuned on and a
  "heldout" group that is only reported; the report is printed for all, dev and heldout apart.
- Several seeds: each seed is a different 75/25 split (stratified for classification). Every tool sees
  the same 75 % as train.csv and is scored on the same unseen 25 % (ROC AUC binary, accuracy multiclass,
  R² regression; the tools are told to optimise ROC AUC, accuracy and RMSE, which R² ranks the same way).
- Work is seed-major, and for each (table, seed) the tools run one after the other, so they meet the same
  machine conditions; the load average before and after each run is recorded.
- Every (table, seed, tool, budget) result is appended as one JSON line, with the per-test-row predictions,
  to a results file kept in git: runs resume where they stopped, and the report's standard errors come
  from a paired bootstrap of the test rows (benchmarks/quality_report.py).
- A tool that fails, or runs past 3 x budget + 60 s, is recorded with score null and its error.

    python benchmarks/quality.py                          # everything: 25 tables x seeds 0,1,2 x 4 tools, 60 s
    python benchmarks/quality.py --group dev --seeds 0    # part of it; rerun the same command to resume
    python benchmarks/quality.py --redo pipeline          # rerun the pipeline (e.g. after an engine change)
    python benchmarks/quality.py --report                 # only the report, from the results file

The comparators and the data packages live in .bench-venv (`pip install -r benchmarks/requirements.txt`);
tables are loaded there once and cached as Parquet in .bench-data/.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import venv
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import r2_score, roc_auc_score
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import jsonl  # noqa: E402  (after the path insert)
from benchmarks.quality_report import report  # noqa: E402
from benchmarks.tables import GROUPS, TABLES, Table  # noqa: E402

TOOLS = ("pipeline", "lightgbm", "flaml", "autogluon")
RESULTS = ROOT / "benchmarks" / "results" / "quality.jsonl"
DATA = ROOT / ".bench-data"
OBJECTIVE = {
    "binary": "predict {target}; optimise ROC AUC",
    "multiclass": "predict {target}; maximise accuracy",
    "regression": "predict {target}; minimise RMSE",
}
OBJECTIVE_METRIC = {"binary": "roc_auc", "multiclass": "accuracy", "regression": "rmse"}


@dataclass
class Split:
    """One (table, seed): the files every tool reads and the truth they are scored on."""

    table: Table
    seed: int
    rows: int
    cols: int
    train_csv: Path
    test_x_csv: Path
    y: pd.Series
    digest: str


@dataclass
class Outcome:
    """What one tool run produced: predictions (None on failure) and what is known about the run."""

    predictions: pd.DataFrame | None
    wall_s: float
    error: str | None = None
    extra: dict | None = None


def timeout_s(budget: float) -> float:
    return 3 * budget + 60


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget", type=float, default=60.0, help="seconds per tool per (table, seed)")
    ap.add_argument("--seeds", default="0,1,2", help="comma list; each seed is its own 75/25 split")
    ap.add_argument("--tables", default="", help="comma list of table names (default: all)")
    ap.add_argument("--group", choices=("all",) + GROUPS, default="all")
    ap.add_argument("--tools", default=",".join(TOOLS), help=f"comma list out of {','.join(TOOLS)}")
    ap.add_argument(
        "--redo",
        default="",
        help="comma list of tools to rerun although their results exist (the "
        "pipeline: records from other commits; resumable)",
    )
    ap.add_argument("--report", action="store_true", help="no runs: only the report from the results file")
    ap.add_argument("--results", default=str(RESULTS), help="JSON-lines results file (appended to)")
    ap.add_argument("--venv", default=str(ROOT / ".bench-venv"), help="venv with the comparators and data packages")
    args = ap.parse_args()
    args.seeds = [int(s) for s in args.seeds.split(",") if s]
    args.tools = [t for t in args.tools.split(",") if t]
    args.redo = {t for t in args.redo.split(",") if t}
    unknown = (set(args.tools) | args.redo) - set(TOOLS)
    if unknown:
        ap.error(f"unknown tools: {', '.join(sorted(unknown))}")
    return args


def select_tables(names: str, group: str) -> list[Table]:
    chosen = [TABLES[n] for n in names.split(",")] if names else list(TABLES.values())
    return [t for t in chosen if group in ("all", t.group)]


def ensure_venv(path: Path) -> Path:
    """The comparators' venv, created on first use (AutoGluon pins its own pandas and scikit-learn)."""
    python = path / "bin" / "python"
    if not python.exists():
        print(f"creating {path} with the comparators and data packages (one time)...", file=sys.stderr)
        venv.create(path, with_pip=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "-r", str(ROOT / "benchmarks" / "requirements.txt")], check=True
        )
    return python


def check_objectives(tables: list[Table]) -> None:
    """Fail before any run if the pipeline would read one of the objective sentences as another metric."""
    from pipeline.ml.objective import parse_objective

    for table in tables:
        text = OBJECTIVE[table.task].format(target=table.target)
        metric = parse_objective(text, [table.target]).metric
        if metric != OBJECTIVE_METRIC[table.task]:
            raise SystemExit(f"the pipeline reads {text!r} as {metric}, not {OBJECTIVE_METRIC[table.task]}")


def cached_table(table: Table, python: Path) -> pd.DataFrame:
    """The table as Parquet, loaded once in the venv; the file name carries a hash of tables.py, so any
    change to a loader reloads instead of reusing a stale copy."""
    version = hashlib.sha1((ROOT / "benchmarks" / "tables.py").read_bytes()).hexdigest()[:8]
    path = DATA / f"{table.name}-{version}.parquet"
    if not path.exists():
        subprocess.run(
            [
                str(python),
                str(ROOT / "benchmarks" / "tables.py"),
                "--cache",
                str(DATA),
                f"--suffix=-{version}.parquet",
                table.name,
            ],
            check=True,
            cwd=ROOT,
        )
    return pd.read_parquet(path)


def make_split(table: Table, frame: pd.DataFrame, seed: int, work: Path) -> Split:
    strata = frame[table.target].astype(str) if table.task != "regression" else None
    train, test = train_test_split(frame, test_size=0.25, random_state=seed, stratify=strata)
    train_csv, test_x_csv = work / "train.csv", work / "test_X.csv"
    train.to_csv(train_csv, index=False)
    test.drop(columns=[table.target]).to_csv(test_x_csv, index=False)
    digest = hashlib.sha1(pd.util.hash_pandas_object(test, index=True).to_numpy().tobytes()).hexdigest()[:12]
    return Split(
        table,
        seed,
        len(frame),
        frame.shape[1] - 1,
        train_csv,
        test_x_csv,
        test[table.target].reset_index(drop=True),
        digest,
    )


def git_commit() -> str:
    """HEAD of the work tree, "+dirty" if tracked files differ from it (the results file itself excepted)."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)benchmarks/results"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout
    return head.strip() + ("+dirty" if dirty.strip() else "")


def run_command(cmd: list[str], cwd: Path, limit: float, log: Path) -> tuple[int | None, float]:
    """Run in its own process group; on passing `limit` seconds kill the whole group. None means killed.
    The group is also cleared after a normal exit, so no helper process outlives its run."""
    t0 = time.monotonic()
    with open(log, "ab") as err:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
        try:
            code: int | None = proc.wait(timeout=max(limit, 1.0))
        except subprocess.TimeoutExpired:
            code = None
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
    return code, time.monotonic() - t0


def last_error_line(log: Path) -> str:
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no message"


def failure(code: int | None, wall: float, limit: float, log: Path, step: str) -> str:
    if code is None:
        return f"{step} killed after {wall:.0f} s (limit {limit:.0f} s)"
    return f"{step} exited {code}: {last_error_line(log)}"


def run_pipeline(split: Split, budget: float, work: Path) -> Outcome:
    """`python -m pipeline run` then `predict`, from the repo with this interpreter; the offline brain keeps
    runs reproducible whatever API keys the environment holds."""
    table, out, log, limit = split.table, work / "run", work / "stderr.log", timeout_s(budget)
    extra = {"commit": git_commit()}
    cmd = [
        sys.executable,
        "-m",
        "pipeline",
        "run",
        str(split.train_csv),
        "--target",
        table.target,
        "--objective",
        OBJECTIVE[table.task].format(target=table.target),
        "--time-budget",
        str(budget),
        "--seed",
        str(split.seed),
        "--brain",
        "offline",
        "--out",
        str(out),
        "--store",
        str(work / "store.sqlite"),
    ]
    code, wall = run_command(cmd, ROOT, limit, log)
    extra["wall_over_budget"] = round(wall / budget, 3)
    if code != 0:
        return Outcome(None, wall, failure(code, wall, limit, log, "run"), extra)
    metrics = json.loads((out / "metrics.json").read_text())
    metric = metrics["metric"]
    extra.update(
        model=metrics["model"],
        pipeline_task=metrics["task"],
        pipeline_metric=metric,
        cv=metrics["cv"].get(metric),
        holdout=metrics["holdout"].get(metric),
        delivered=metrics.get("delivered"),
    )
    pred_csv = work / "pred.csv"
    code, predict_wall = run_command(
        [
            sys.executable,
            "-m",
            "pipeline",
            "predict",
            "--run",
            str(out),
            "--data",
            str(split.test_x_csv),
            "--out",
            str(pred_csv),
        ],
        ROOT,
        limit - wall,
        log,
    )
    extra["predict_s"] = round(predict_wall, 1)
    if code != 0:
        return Outcome(None, wall, failure(code, wall + predict_wall, limit, log, "predict"), extra)
    return Outcome(pd.read_csv(pred_csv), wall, None, extra)


def run_comparator(tool: str, split: Split, budget: float, work: Path, python: Path) -> Outcome:
    table, out, log, limit = split.table, work / "pred.csv", work / "stderr.log", timeout_s(budget)
    cmd = [
        str(python),
        str(ROOT / "benchmarks" / "_baselines.py"),
        tool,
        str(split.train_csv),
        str(split.test_x_csv),
        table.target,
        table.task,
        str(budget),
        str(split.seed),
        str(work),
        str(out),
    ]
    code, wall = run_command(cmd, work, limit, log)
    if code != 0:
        return Outcome(None, wall, failure(code, wall, limit, log, tool))
    meta = json.loads(Path(str(out) + ".meta.json").read_text())
    return Outcome(pd.read_csv(out), wall, None, {"version": meta["version"]})


def label(value: object) -> str:
    """Class labels as text, so 1, 1.0 and "1" (CSV round trips, proba_ column names) compare equal."""
    text = str(value)
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() else text


def sig6(values: np.ndarray) -> list[float]:
    """Six significant digits: enough for the bootstrap, and a much smaller results file."""
    return [float(f"{v:.6g}") for v in values]


def score(split: Split, pred: pd.DataFrame) -> tuple[float, dict]:
    """The benchmark's metric and the per-test-row values the report's bootstrap needs."""
    table, y = split.table, split.y
    if len(pred) != len(y):
        raise ValueError(f"{len(pred)} predictions for {len(y)} test rows")
    if table.task == "binary":
        columns = {label(c[len("proba_") :]): c for c in pred.columns if c.startswith("proba_")}
        if table.positive not in columns:
            raise ValueError(f"no probability for class {table.positive!r} among {sorted(columns)}")
        truth = np.array([label(v) == table.positive for v in y], dtype=int)
        proba = pred[columns[table.positive]].to_numpy(dtype=float)
        return float(roc_auc_score(truth, proba)), {"y": truth.tolist(), "p": sig6(proba)}
    if table.task == "multiclass":
        correct = np.array([label(a) == label(b) for a, b in zip(pred["prediction"], y)], dtype=int)
        return float(correct.mean()), {"correct": correct.tolist()}
    values = pred["prediction"].to_numpy(dtype=float)
    return float(r2_score(y.to_numpy(dtype=float), values)), {"y": sig6(y.to_numpy(dtype=float)), "pred": sig6(values)}


def record(split: Split, tool: str, budget: float, outcome: Outcome, load: tuple[float, float]) -> dict:
    table = split.table
    row = {
        "table": table.name,
        "group": table.group,
        "task": table.task,
        "rows": split.rows,
        "cols": split.cols,
        "test_rows": len(split.y),
        "split": split.digest,
        "seed": split.seed,
        "tool": tool,
        "budget": budget,
        "score": None,
        "wall_s": round(outcome.wall_s, 1),
        "error": outcome.error,
        "load_start": round(load[0], 2),
        "load_end": round(load[1], 2),
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        **(outcome.extra or {}),
    }
    if outcome.predictions is not None:
        try:
            value, per_row = score(split, outcome.predictions)
            row["score"] = value if math.isfinite(value) else None
            row.update(per_row)
        except (ValueError, KeyError) as exc:
            row["error"] = f"scoring: {exc}"[:300]
    return row


def run_tool(tool: str, split: Split, budget: float, python: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"{tool}-", dir=split.train_csv.parent) as tmp:
        load_start = os.getloadavg()[0]
        if tool == "pipeline":
            outcome = run_pipeline(split, budget, Path(tmp))
        else:
            outcome = run_comparator(tool, split, budget, Path(tmp), python)
        return record(split, tool, budget, outcome, (load_start, os.getloadavg()[0]))


def done_keys(path: Path, redo: set[str]) -> set[tuple]:
    """(table, seed, tool, budget) already recorded. A pipeline rerun (`--redo pipeline`) counts only records made
    at the current commit as done, so an interrupted rerun resumes instead of starting over."""
    if not path.exists():
        return set()
    commit = git_commit() if "pipeline" in redo else ""
    return {
        (r["table"], r["seed"], r["tool"], float(r["budget"]))
        for r in jsonl.read(path)
        if r["tool"] not in redo
        or (r["tool"] == "pipeline" and r.get("commit") == commit and not commit.endswith("+dirty"))
    }


def progress(row: dict) -> str:
    result = f"{row['score']:.4f}" if row["score"] is not None else f"FAILED ({row['error']})"
    return f"seed {row['seed']} {row['table']} {row['tool']}: {result} in {row['wall_s']:.1f} s"


def run_all(args: argparse.Namespace, tables: list[Table], results: Path) -> None:
    python = ensure_venv(Path(args.venv))
    if "pipeline" in args.tools:
        check_objectives(tables)
    results.parent.mkdir(parents=True, exist_ok=True)
    done = done_keys(results, args.redo)
    for seed in args.seeds:
        for table in tables:
            todo = [t for t in args.tools if (table.name, seed, t, args.budget) not in done]
            if not todo:
                continue
            frame = cached_table(table, python)
            with tempfile.TemporaryDirectory(prefix=f"quality-{table.name}-{seed}-") as tmp:
                split = make_split(table, frame, seed, Path(tmp))
                for tool in todo:
                    row = run_tool(tool, split, args.budget, python)
                    jsonl.append(results, [row])
                    print(progress(row), file=sys.stderr, flush=True)


def main() -> int:
    args = parse_args()
    tables = select_tables(args.tables, args.group)
    results = Path(args.results)
    if not args.report:
        run_all(args, tables, results)
    records = [r for r in (jsonl.read(results) if results.exists() else []) if r["seed"] in args.seeds]
    print(report(records, tables, args.tools, args.budget))
    return 0


if __name__ == "__main__":
    sys.exit(main())
