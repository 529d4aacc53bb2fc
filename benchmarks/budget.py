"""Budget benchmark: is `--time-budget B` honoured, and does a bigger budget ever give a worse CV score?

Runs `python -m pipeline run` on one generated table (the scale benchmark's 30-column table) once per
budget, one after the other, and prints wall time against budget and the selected model's CV and
holdout scores. Wall time is measured around the whole command, start-up included.

    python benchmarks/budget.py --rows 50000 --budgets 30,60,120,300,600 --results /tmp/budget.jsonl
    python benchmarks/budget.py --budgets 3600 --results /tmp/budget.jsonl     # appends
    python benchmarks/budget.py --report /tmp/budget.jsonl                     # the table for all of them
    python benchmarks/budget.py --budgets 30,60 --busy 8 --results /tmp/busy.jsonl  # on a machine kept busy
    python benchmarks/budget.py --rows 20000 --wide 300 --budgets 30,60       # a wide table
    python benchmarks/budget.py --file big.parquet --target y --budgets 60,120  # any table

`--busy N` keeps N CPU-bound processes running beside each run (a fixed, repeatable load, unlike a shared
machine's): with N = 4 times the cores, the run gets about a fifth of the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import jsonl  # noqa: E402  (after the path insert)
from benchmarks.scale import make_table  # noqa: E402
from pipeline.ml.metrics import METRICS  # noqa: E402


def run_once(data: Path, budget: float, work: Path, target: str = "target") -> dict:
    out = work / f"run_{data.stem}_{int(budget)}s"
    load_before = os.getloadavg()[0]
    t0 = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "run",
            str(data),
            "--target",
            target,
            "--time-budget",
            str(budget),
            "--out",
            str(out),
            "--store",
            str(work / "store.sqlite"),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    wall = time.monotonic() - t0
    state = json.loads((out / "run.json").read_text())["state"]
    selected = next((s for s in state["iterations"] if s["iteration"] == state["selected_iteration"]), {})
    metric = state["objective"]["metric"]
    trials = len(state["training"]["trials"])
    return {
        "budget_s": budget,
        "wall_s": round(wall, 1),
        "wall_over_budget": round(wall / budget, 3),
        "status": state["status"],
        "exit": proc.returncode,
        "metric": metric,
        "cv": selected.get("cv_score"),
        "holdout": selected.get("holdout_metrics", {}).get(metric),
        "model": selected.get("model", ""),
        "loops": len(state["iterations"]),
        "trials_last_loop": trials,
        "load_before": round(load_before, 1),
        "load_after": round(os.getloadavg()[0], 1),
        "data": data.name,
    }


def wide_table(rows: int, extra: int) -> pd.DataFrame:
    """The scale table plus `extra` numeric columns: one in ten carries a little signal, the rest is noise."""
    frame = make_table(rows, seed=1)
    rng = np.random.default_rng(7)
    signal = frame["target"].to_numpy()
    for i in range(extra):
        column = rng.normal(0, 1, rows)
        frame[f"extra_{i}"] = (column + 0.15 * signal if i % 10 == 0 else column).astype(np.float32)
    return frame


BUSY_LOOP = "while True: pass"


@contextlib.contextmanager
def busy(processes: int):
    """N CPU-bound processes for the duration of the block."""
    procs = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(processes)]
    try:
        yield
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def report(rows: list[dict]) -> None:
    rows = sorted(rows, key=lambda r: r["budget_s"])
    print(
        "| budget s | wall s | wall / budget | CV | holdout | loops | selected model | load (before → after) | busy |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        cv = f"{r['cv']:.4f}" if r["cv"] is not None else "—"
        ho = f"{r['holdout']:.4f}" if r["holdout"] is not None else "—"
        print(
            f"| {r['budget_s']:.0f} | {r['wall_s']} | {r['wall_over_budget']} | {cv} | {ho} | {r['loops']} | "
            f"{r['model']} | {r['load_before']} → {r['load_after']} | {r.get('busy', 0)} |"
        )
    ratios = [r["wall_over_budget"] for r in rows]
    print(
        f"\nwall / budget: min {min(ratios):.3f}, max {max(ratios):.3f}; within 10 %: "
        f"{sum(1 for x in ratios if x <= 1.10)}/{len(ratios)}"
    )
    best_so_far, worse = None, []
    for r in rows:
        if r["cv"] is None:
            continue
        sign = (
            1.0 if r.get("metric") not in METRICS or METRICS[r["metric"]].greater_is_better else -1.0
        )  # losses compare the other way round
        if best_so_far is not None and sign * r["cv"] < sign * best_so_far[1]:
            worse.append(
                f"{r['budget_s']:.0f} s ({r['cv']:.4f}) worse than {best_so_far[0]:.0f} s ({best_so_far[1]:.4f})"
            )
        if best_so_far is None or sign * r["cv"] >= sign * best_so_far[1]:
            best_so_far = (r["budget_s"], r["cv"])
    print("bigger budget never worse CV: " + ("yes" if not worse else "no — " + "; ".join(worse)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--budgets", default="30,60,120,300,600")
    ap.add_argument("--work", default=None, help="folder for the table and the runs (kept between calls)")
    ap.add_argument("--results", default=None, help="append each result as a JSON line to this file")
    ap.add_argument("--report", default=None, help="only print the table for a results file")
    ap.add_argument("--busy", type=int, default=0, help="CPU-bound processes kept running beside each run")
    ap.add_argument("--wide", type=int, default=0, help="add this many numeric columns (mostly noise) to the table")
    ap.add_argument("--file", default=None, help="an existing CSV or Parquet table instead of a generated one")
    ap.add_argument("--target", default="target", help="the target column of --file")
    args = ap.parse_args()
    if args.report:
        report(jsonl.read(args.report))
        return 0
    work = Path(args.work or tempfile.mkdtemp(prefix="budget-"))
    work.mkdir(parents=True, exist_ok=True)
    data = Path(args.file) if args.file else work / f"table_{args.rows}{f'_wide{args.wide}' if args.wide else ''}.csv"
    if not data.exists():
        wide_table(args.rows, args.wide).to_csv(data, index=False)
    rows = []
    for budget in [float(b) for b in args.budgets.split(",")]:
        with busy(args.busy):
            row = run_once(data, budget, work, args.target)
        row["busy"] = args.busy
        rows.append(row)
        print(json.dumps(row), flush=True)
        jsonl.append(args.results, [row])
    report(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
