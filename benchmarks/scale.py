"""Scale benchmark: wall time, per-phase split and peak memory of the whole process tree at 10k/100k/1M rows.

The table is generated with known structure: 30 columns (numeric, low- and high-cardinality
categoricals, missing values, a date) and a binary target. Peak memory is taken over the CLI process and
all of its descendants (sandbox zygote and children included) two ways: the largest sum of RSS (every
50 ms; shared pages counted once per process, an upper bound) and the largest sum of PSS (every 250 ms;
each page counted once, as a container's memory limit counts it).

    python benchmarks/scale.py --rows 10000,100000,1000000 --budget 600 --format csv
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent


def make_table(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cols: dict[str, np.ndarray] = {}
    for i in range(18):
        cols[f"num_{i}"] = rng.normal(0, 1 + i % 3, n).astype(np.float32)
    for i in range(4):
        cols[f"cat_low_{i}"] = rng.choice(np.array([f"c{j}" for j in range(5 + i)]), n)
    for i in range(3):
        cols[f"cat_high_{i}"] = rng.choice(np.array([f"k{j}" for j in range(2000 * (i + 1))]), n)
    cols["count_a"] = rng.poisson(3, n)
    cols["count_b"] = rng.poisson(10, n)
    cols["flag"] = rng.random(n) < 0.3
    cols["event_date"] = (np.datetime64("2020-01-01") + rng.integers(0, 1500, n).astype("timedelta64[D]")).astype(str)
    logit = (
        0.8 * cols["num_0"]
        - 0.5 * cols["num_1"]
        + 0.3 * cols["num_2"] * cols["num_3"]
        + np.where(cols["cat_low_0"] == "c1", 0.7, 0.0)
        + 0.2 * cols["count_a"]
        - 0.6 * cols["flag"]
        + rng.normal(0, 1.0, n)
    )
    frame = pd.DataFrame(cols)
    frame["target"] = (logit > np.quantile(logit, 0.75)).astype(int)
    for i in range(0, 18, 4):
        frame.loc[rng.random(n) < 0.1, f"num_{i}"] = np.nan
    return frame


class TreeMemory:
    """Peak memory of a process and all its descendants, read from /proc, two ways.

    Summed RSS (every 50 ms) counts a page once per process that maps it: the sandbox zygote's spare children
    share ~150 MB each with the zygote copy-on-write, so it over-counts. Summed PSS (`smaps_rollup`, every
    250 ms because it walks the page tables) divides each shared page among its sharers: each page once, as
    the kernel's memory cgroup (a container's limit) counts it."""

    PSS_EVERY = 5  # samples

    def __init__(self, pid: int) -> None:
        self.pid, self._stop = pid, threading.Event()
        self.peak = self.peak_pss = 0
        self.peak_at = 0.0
        self.samples: list[tuple[float, int, int]] = []  # (unix time, summed RSS, the CLI process's own RSS)
        self.pss_samples: list[tuple[float, int]] = []  # (unix time, summed PSS)
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _tree(self) -> set[int]:
        parents = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                parents[int(stat.parent.name)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
        tree, frontier = {self.pid}, [self.pid]
        while frontier:
            p = frontier.pop()
            for child, parent in parents.items():
                if parent == p and child not in tree:
                    tree.add(child)
                    frontier.append(child)
        return tree

    @staticmethod
    def _field(path: str, name: str) -> int:
        for line in Path(path).read_text().splitlines():
            if line.startswith(name):
                return int(line.split()[1]) * 1024
        return 0

    def _loop(self) -> None:
        count = 0
        while not self._stop.is_set():
            tree = self._tree()
            total = own = 0
            for pid in tree:
                try:
                    rss = self._field(f"/proc/{pid}/status", "VmRSS:")
                except OSError:
                    continue
                total += rss
                own = rss if pid == self.pid else own
            now = time.time()
            self.samples.append((now, total, own))
            if total > self.peak:
                self.peak, self.peak_at = total, now
            if count % self.PSS_EVERY == 0:
                pss = 0
                for pid in tree:
                    try:
                        pss += self._field(f"/proc/{pid}/smaps_rollup", "Pss:")
                    except OSError:
                        continue
                self.pss_samples.append((now, pss))
                self.peak_pss = max(self.peak_pss, pss)
            count += 1
            self._stop.wait(0.05)

    def stop(self) -> int:
        self._stop.set()
        self.thread.join()
        return self.peak


def run_once(n: int, budget: float, fmt: str, work: Path) -> dict:
    data = work / f"table_{n}.{fmt}"
    if not data.exists():
        frame = make_table(n)
        frame.to_csv(data, index=False) if fmt == "csv" else frame.to_parquet(data)
    out = work / f"run_{n}_{fmt}"
    t0, started_unix = time.monotonic(), time.time()
    proc = subprocess.Popen(
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
            "--out",
            str(out),
            "--store",
            str(work / "store.sqlite"),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    mem = TreeMemory(proc.pid)
    proc.wait()
    wall, ended_unix = time.monotonic() - t0, time.time()
    peak = mem.stop()
    state = json.loads((out / "run.json").read_text())["state"]
    peak_phase = next(
        (r["phase"] for r in state["history"] if r["started_at"] <= mem.peak_at <= (r["ended_at"] or float("inf"))),
        "loading/finishing",
    )
    phases: dict[str, float] = {}
    fitting: dict[str, float] = {}
    for record in state["history"]:
        phases[record["phase"]] = phases.get(record["phase"], 0.0) + (record["duration_s"] or 0.0)
        fitting[record["phase"]] = fitting.get(record["phase"], 0.0) + record.get("fit_s", 0.0)
    history = state["history"]
    steps = []  # the peak of every phase run, and what the CLI process itself holds when the phase ends
    for record in history:
        end = record["ended_at"] or float("inf")
        inside = [(rss, own) for t, rss, own in mem.samples if record["started_at"] <= t <= end]
        pss = [v for t, v in mem.pss_samples if record["started_at"] <= t <= end]
        steps.append(
            {
                "phase": record["phase"],
                "iteration": record["iteration"],
                "peak_mb": round(max((rss for rss, _ in inside), default=0) / 2**20),
                "peak_pss_mb": round(max(pss, default=0) / 2**20),
                "main_at_end_mb": round(inside[-1][1] / 2**20) if inside else 0,
            }
        )
    startup = history[0]["started_at"] - started_unix if history else wall
    finishing = ended_unix - max((r["ended_at"] or 0.0) for r in history) if history else 0.0
    fit_total = sum(fitting.values())
    metrics = json.loads((out / "metrics.json").read_text()) if (out / "metrics.json").exists() else {}
    return {
        "rows": n,
        "format": fmt,
        "status": state["status"],
        "wall_s": round(wall, 1),
        "budget_s": budget,
        "wall_over_budget": round(wall / budget, 3),
        "peak_rss_mb": round(peak / 2**20),
        "peak_pss_mb": round(mem.peak_pss / 2**20),
        "peak_phase": peak_phase,
        "phases_s": {k: round(v, 1) for k, v in phases.items()},
        "fit_s": {k: round(v, 1) for k, v in fitting.items()},
        "startup_s": round(startup, 1),
        "finishing_s": round(finishing, 1),
        "peak_by_step": steps,
        "outside_fitting_pct": round(100 * (wall - fit_total) / wall, 1),
        "iterations": max((r["iteration"] for r in history), default=0),
        "dominant_phase": max(phases, key=phases.get) if phases else "",
        "holdout": metrics.get("holdout", {}).get(metrics.get("metric", ""), None),
        "file_mb": round(data.stat().st_size / 2**20, 1),
    }


def plot_growth(results: Path, png: Path) -> None:
    """Log-log plot of wall time and peak memory against rows, one line per file format."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    latest = {(r["rows"], r["format"]): r for r in rows}  # the last measurement of each size and format
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for fmt, marker in (("csv", "o"), ("parquet", "s")):
        points = sorted((r for key, r in latest.items() if key[1] == fmt), key=lambda r: r["rows"])
        if not points:
            continue
        n = [p["rows"] for p in points]
        axes[0].plot(n, [p["wall_s"] for p in points], marker=marker, label=fmt)
        split = [p for p in points if "outside_fitting_pct" in p]  # older results did not record the split
        axes[1].plot(
            [p["rows"] for p in split],
            [p["wall_s"] * p["outside_fitting_pct"] / 100 for p in split],
            marker=marker,
            label=fmt,
        )
        axes[2].plot(n, [p["peak_rss_mb"] for p in points], marker=marker, ls=":", label=f"{fmt}, RSS sum")
        counted_once = [p for p in points if p.get("peak_pss_mb")]
        axes[2].plot(
            [p["rows"] for p in counted_once],
            [p["peak_pss_mb"] for p in counted_once],
            marker=marker,
            label=f"{fmt}, PSS (each page once)",
        )
    axes[2].axhline(2.5e9 / 2**20, ls="--", color="grey", label="2.5 GB target (2,384 MiB)")
    for ax, title, unit in (
        (axes[0], "Wall time (budget-bound)", "seconds"),
        (axes[1], "Time outside model fitting", "seconds"),
        (axes[2], "Peak memory, whole process tree", "MiB"),
    ):
        ax.set(xscale="log", yscale="log", title=title, xlabel="rows", ylabel=unit)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(png, dpi=110)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", default="10000,100000,1000000")
    ap.add_argument("--budget", type=float, default=600.0)
    ap.add_argument("--format", default="csv", choices=["csv", "parquet"])
    ap.add_argument("--work", default=None, help="folder for the generated tables (kept between calls)")
    ap.add_argument("--results", default=None, help="append each result as a JSON line to this file")
    ap.add_argument("--plot", default=None, help="only draw the log-log growth plot of --results into this PNG")
    args = ap.parse_args()
    if args.plot:
        plot_growth(Path(args.results), Path(args.plot))
        return 0
    work = Path(args.work or tempfile.mkdtemp(prefix="scale-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in [int(v) for v in args.rows.split(",")]:
        row = run_once(n, args.budget, args.format, work)
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(
        "\n| rows | format | file MB | wall s | wall/budget | peak MiB, PSS (tree) | peak MiB, RSS sum (tree) | "
        "peak during | dominant phase | loops | outside model fitting |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['rows']:,} | {r['format']} | {r['file_mb']} | {r['wall_s']} | {r['wall_over_budget']} | "
            f"{r.get('peak_pss_mb', 0):,} | {r['peak_rss_mb']:,} | {r['peak_phase']} | {r['dominant_phase']} | {r['iterations']} | "
            f"{r['outside_fitting_pct']} % |"
        )
    for r in rows:
        print(f"\nSplit at {r['rows']:,} rows ({r['format']}), seconds (of which fitting models):")
        print(f"  start-up and loading {r['startup_s']}")
        for phase, seconds in r["phases_s"].items():
            print(f"  {phase:<12} {seconds:7.1f}  ({r['fit_s'].get(phase, 0.0):.1f})")
        print(f"  finishing (report, export, exit) {r['finishing_s']}")
        print(
            "Peak MiB of each step, PSS / RSS sum (CLI process alone at its end): "
            + ", ".join(
                f"{x['phase']} {x['iteration']}: {x.get('peak_pss_mb', 0):,} / {x['peak_mb']:,} ({x.get('main_at_end_mb', 0):,})"
                for x in r["peak_by_step"]
            )
        )
    if args.results:
        with open(args.results, "a") as fh:
            for r in rows:
                fh.write(json.dumps(r) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
