"""Prediction through the process sandbox beside the in-process path it replaced (#18).

A saved model's feature code used to run in the caller under RestrictedPython's guards alone; it now runs in a
sandboxed child (TabularModel.features). Side by side, interleaved A/B so both meet the same machine:
- one row, model.features + prediction_frame (what serve.py does per request): median and 90th percentile;
- 100,000 rows (the table repeated): median of the repeats; the target is at most 1.5x the in-process time.

    python benchmarks/predict_bench.py                 # trains a 20 s offline run on breast_cancer first
    python benchmarks/predict_bench.py --run runs/runs/RUN_ID --data new_rows.csv
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import joblib
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sandbox  # noqa: E402
from pipeline.ml.runtime import TabularModel  # noqa: E402
from pipeline.tables.samples import sample_frame  # noqa: E402


def in_process(model: TabularModel, X: pd.DataFrame) -> pd.DataFrame:
    """The path before #18: the feature code in this process, under the language layer only."""
    aligned = model.align(X)
    if not model.feature_code.strip():
        return model.prediction_frame(aligned)
    namespace = sandbox.restricted_exec(model.feature_code)
    return model.prediction_frame(namespace["transform"](aligned.copy()))


def sandboxed(model: TabularModel, X: pd.DataFrame) -> pd.DataFrame:
    return model.prediction_frame(model.features(X))


def timed(fn, *args) -> float:
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


def train(work: Path) -> tuple[Path, Path]:
    data = work / "breast_cancer.csv"
    sample_frame("breast_cancer").to_csv(data, index=False)
    out = work / "run"
    subprocess.run(
        [sys.executable, "-m", "pipeline", "run", str(data), "--target", "diagnosis", "--time-budget", "20"]
        + ["--max-loops", "0", "--out", str(out), "--store", str(work / "store.sqlite")],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return out, data


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", help="a finished run directory (default: train one)")
    ap.add_argument("--data", help="rows to score (default: the training file)")
    ap.add_argument("--requests", type=int, default=100, help="one-row requests per path")
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="predict-bench-") as tmp:
        run, data = (Path(args.run), Path(args.data)) if args.run else train(Path(tmp))
        model: TabularModel = joblib.load(run / "model.joblib")
        frame = pd.read_csv(data).drop(columns=[model.target], errors="ignore")
        row = frame.head(1)
        big = pd.concat([frame] * (args.rows // len(frame) + 1), ignore_index=True).head(args.rows)
        for fn in (in_process, sandboxed):  # warm-up: imports, the sandbox's zygote
            fn(model, row)
        if not in_process(model, frame).equals(sandboxed(model, frame)):
            raise SystemExit("the two paths predict differently")
        one = {"in-process": [], "sandbox": []}
        for _ in range(args.requests):
            one["in-process"].append(timed(in_process, model, row))
            one["sandbox"].append(timed(sandboxed, model, row))
        many = {"in-process": [], "sandbox": []}
        for _ in range(args.repeats):
            many["in-process"].append(timed(in_process, model, big))
            many["sandbox"].append(timed(sandboxed, model, big))
    print(f"model: {model.pipeline.__class__.__name__}, feature code {len(model.feature_code)} characters")
    print("| path | one row p50 ms | one row p90 ms | 100k rows median s |")
    print("|---|---|---|---|")
    for name in one:
        ms = np.array(one[name]) * 1000
        print(f"| {name} | {np.median(ms):.1f} | {np.percentile(ms, 90):.1f} | {statistics.median(many[name]):.2f} |")
    ratio_one = np.median(one["sandbox"]) / np.median(one["in-process"])
    ratio_many = statistics.median(s / i for s, i in zip(many["sandbox"], many["in-process"]))
    print(
        f"\nsandbox / in-process: one row {ratio_one:.2f}x; {args.rows:,} rows {ratio_many:.2f}x (median of paired ratios)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
