"""Scale-out benchmark: does a run with tune-workers on a shared Optuna study finish its tuning sooner?

Runs `python -m pipeline run --max-trials T` on one generated table (the scale benchmark's 30-column
table) with `OPTUNA_STORAGE` set to a fresh SQLite file, once with no tune-workers and once with N
`python -m pipeline tune-worker` processes beside it, alternating, and prints the run's wall time, the
tuning's wall time (first trial start to last trial end in the study), who ran the trials, and the CV
score of the best trial. The trial cap is study-wide, so workers take a share of the same T trials.

    python benchmarks/scale_out.py --rows 10000,50000 --trials 40 --workers 0,2 --repeat 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import jsonl  # noqa: E402  (after the path insert)
from benchmarks.scale import make_table  # noqa: E402


def run_once(data: Path, workers: int, trials: int, budget: float, work: Path, tag: str) -> dict:
    out = work / f"run_{tag}"
    storage = f"sqlite:///{work / f'optuna_{tag}.db'}"
    env = {**os.environ, "OPTUNA_STORAGE": storage}
    load_before = os.getloadavg()[0]
    t0 = time.monotonic()
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipeline",
            "run",
            str(data),
            "--target",
            "target",
            "--time-budget",
            str(budget),
            "--max-loops",
            "0",
            "--max-trials",
            str(trials),
            "--out",
            str(out),
            "--store",
            str(work / "store.sqlite"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    helpers = [
        subprocess.Popen(
            [sys.executable, "-m", "pipeline", "tune-worker", "--run", str(out), "--wait", str(budget + 60)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    _, err = run.communicate()
    wall = time.monotonic() - t0
    for helper in helpers:
        helper.wait(timeout=120)
    if run.returncode != 0:
        raise SystemExit(f"run failed ({tag}): {err[-1500:]}")
    state = json.loads((out / "run.json").read_text())["state"]
    study = optuna.load_study(study_name=f"{state['run_id']}-it1", storage=storage)
    finished = [t for t in study.trials if t.state.is_finished() and t.datetime_start and t.datetime_complete]
    tuning = (max(t.datetime_complete for t in finished) - min(t.datetime_start for t in finished)).total_seconds()
    own = len(state["training"]["trials"])
    trainer = sum(r["duration_s"] or 0.0 for r in state["history"] if r["phase"] == "trainer")
    metric = state["objective"]["metric"]
    selected = next((s for s in state["iterations"] if s["iteration"] == state["selected_iteration"]), {})
    return {
        "rows": int(data.stem.split("_")[-1]),
        "workers": workers,
        "wall_s": round(wall, 1),
        "trainer_s": round(trainer, 1),
        "tuning_s": round(tuning, 1),
        "trials": len(finished),
        "by_run": own,
        "by_workers": len(finished) - own,
        "complete": sum(t.state == optuna.trial.TrialState.COMPLETE for t in finished),
        "best_trial": round(study.best_value, 4),
        "cv": selected.get("cv_score"),
        "holdout": selected.get("holdout_metrics", {}).get(metric),
        "metric": metric,
        "load_before": round(load_before, 1),
    }


def report(rows: list[dict]) -> None:
    print(
        f"{'rows':>7} {'workers':>7} {'wall s':>7} {'trainer s':>9} {'tuning s':>8} {'trials':>6} "
        f"{'run/wkr':>8} {'best trial':>10} {'holdout':>8} {'load':>5}"
    )
    for r in rows:
        print(
            f"{r['rows']:>7} {r['workers']:>7} {r['wall_s']:>7.1f} {r['trainer_s']:>9.1f} {r['tuning_s']:>8.1f} "
            f"{r['trials']:>6} {r['by_run']:>4}/{r['by_workers']:<3} {r['best_trial']:>10.4f} "
            f"{(r['holdout'] or float('nan')):>8.4f} {r['load_before']:>5.1f}"
        )
    for n in sorted({r["rows"] for r in rows}):
        alone = [r for r in rows if r["rows"] == n and r["workers"] == 0]
        for k in sorted({r["workers"] for r in rows if r["rows"] == n} - {0}):
            helped = [r for r in rows if r["rows"] == n and r["workers"] == k]
            if not alone or not helped:
                continue
            med = {
                key: (statistics.median(r[key] for r in alone), statistics.median(r[key] for r in helped))
                for key in ("wall_s", "tuning_s")
            }
            print(
                f"{n} rows, {k} workers vs none (medians): tuning {med['tuning_s'][1]:.1f} s vs "
                f"{med['tuning_s'][0]:.1f} s = {med['tuning_s'][0] / med['tuning_s'][1]:.2f}x faster; "
                f"whole run {med['wall_s'][1]:.1f} s vs {med['wall_s'][0]:.1f} s = "
                f"{med['wall_s'][0] / med['wall_s'][1]:.2f}x"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="10000,50000")
    parser.add_argument("--trials", type=int, default=40, help="the run's study-wide trial cap")
    parser.add_argument("--workers", default="0,2", help="tune-worker counts to compare")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--budget", type=float, default=900.0, help="large: the trial cap, not time, ends tuning")
    parser.add_argument("--results", default=None, help="append each run as a JSON line")
    parser.add_argument("--report", default=None, help="print the table for a results file and exit")
    args = parser.parse_args()
    if args.report:
        report(jsonl.read(args.report))
        return 0
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="scale_out_") as tmp:
        work = Path(tmp)
        for n in (int(x) for x in args.rows.split(",")):
            data = work / f"table_{n}.parquet"
            make_table(n).to_parquet(data)
            for rep in range(args.repeat):
                for k in (int(x) for x in args.workers.split(",")):
                    result = run_once(data, k, args.trials, args.budget, work, f"{n}_{k}_{rep}")
                    rows.append(result)
                    print(json.dumps(result), flush=True)
                    jsonl.append(args.results, [result])
    report(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
