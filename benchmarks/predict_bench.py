"""Prediction through the process sandbox beside the in-process path it replaced (#18).

A saved model's feature code used to run in the caller under RestrictedPython's guards alone; it now runs in a
sandboxed child: a fresh sandbox run per call (TabularModel.features, cold), or the model's own warm worker once
model.warm() has started it (what the export's serve.py does). Side by side, interleaved so all paths meet the
same machine:
- one row, model.features + prediction_frame: median and 90th percentile per path;
- 100,000 rows (the table repeated): median of the repeats; the target is at most 1.5x the in-process time;
- one-row POST /predict to the run's export/serve.py over HTTP, end to end (target: p50 at most 25 ms).

    python benchmarks/predict_bench.py                 # trains a 20 s offline run on breast_cancer first
    python benchmarks/predict_bench.py --run runs/runs/RUN_ID --data new_rows.csv

serve.py needs the bundle's serving stack here: pip install fastapi uvicorn (the export pins their versions).
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
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
    """A fresh sandbox run per call (the model not warmed)."""
    return model.prediction_frame(model.features(X))


def served_one_row(run: Path, row: pd.DataFrame, requests: int) -> list[float] | str:
    """Seconds per one-row POST /predict to the run's export/serve.py, end to end over HTTP on 127.0.0.1."""
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        return "skipped: pip install fastapi uvicorn to time serve.py"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, str(run / "export" / "serve.py"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    body = json.dumps({"records": json.loads(row.to_json(orient="records"))}).encode()
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(url + "/health", timeout=2).read()
                break
            except OSError:
                if server.poll() is not None:
                    return "serve.py failed: " + server.stderr.read().decode()[-500:]
                time.sleep(0.2)
        times = []
        for i in range(requests + 5):
            request = urllib.request.Request(url + "/predict", body, {"Content-Type": "application/json"})
            started = time.perf_counter()
            urllib.request.urlopen(request, timeout=30).read()
            if i >= 5:  # the first requests warm the server's own code paths
                times.append(time.perf_counter() - started)
        return times
    finally:
        server.terminate()
        server.wait(timeout=10)


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
        warm = joblib.load(run / "model.joblib")  # the same model, warmed as serve.py warms it
        layers = warm.warm()
        paths = {"in-process (before #18)": (in_process, model), "sandbox run per call": (sandboxed, model)}
        paths["warm worker"] = (sandboxed, warm)
        for fn, m in paths.values():  # warm-up: imports, the sandbox's zygote
            fn(m, row)
        expected = in_process(model, frame)
        for name, (fn, m) in paths.items():
            if not expected.equals(fn(m, frame)):
                raise SystemExit(f"{name} predicts differently")
        one: dict[str, list[float]] = {name: [] for name in paths}
        for _ in range(args.requests):
            for name, (fn, m) in paths.items():
                one[name].append(timed(fn, m, row))
                time.sleep(0.01)  # requests a few ms apart, as a server sees them
        many: dict[str, list[float]] = {name: [] for name in paths}
        for _ in range(args.repeats):
            for name, (fn, m) in paths.items():
                many[name].append(timed(fn, m, big))
        warm.close()
        served = served_one_row(run, row, args.requests)
    print(f"model: {model.pipeline.__class__.__name__}, feature code {len(model.feature_code)} characters")
    print(f"warm worker layers: {layers or 'none (no feature code)'}")
    print("| path | one row p50 ms | one row p90 ms | 100k rows median s |")
    print("|---|---|---|---|")
    for name in one:
        ms = np.array(one[name]) * 1000
        print(f"| {name} | {np.median(ms):.1f} | {np.percentile(ms, 90):.1f} | {statistics.median(many[name]):.2f} |")
    if isinstance(served, str):
        print(f"| serve.py POST /predict, one row | {served} | | |")
    else:
        ms = np.array(served) * 1000
        print(
            f"| serve.py POST /predict, one row (HTTP, end to end) | {np.median(ms):.1f} | {np.percentile(ms, 90):.1f} | |"
        )
    base = "in-process (before #18)"
    for name in list(paths)[1:]:
        ratio_one = np.median(one[name]) / np.median(one[base])
        ratio_many = statistics.median(s / i for s, i in zip(many[name], many[base]))
        print(f"{name} / in-process: one row {ratio_one:.2f}x; {args.rows:,} rows {ratio_many:.2f}x (paired ratios)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
