"""Benchmark: sandbox.Executor.run vs a naive `subprocess.run([python, script])`.

Both execute the same small pandas snippet end to end (start, import pandas,
compute, write a file, exit).  Prints medians and the ratio.

    python benchmarks/sandbox_bench.py [--runs 40] [--naive-runs 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sandbox  # noqa: E402

SNIPPET = """\
import pandas as pd
df = pd.DataFrame({"a": range(200), "b": range(1, 201)})
df["ratio"] = df["a"] / df["b"]
df.loc[df["a"] % 2 == 0, "ratio"] = 0
out = df.groupby(df["a"] % 5)["ratio"].mean()
out.to_csv("out.csv")
print(round(float(out.sum()), 4))
"""


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--naive-runs", type=int, default=10)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as wd:
        t = time.perf_counter()
        assert sandbox.prewarm(), "zygote did not start"
        start_s = time.perf_counter() - t
        ex = sandbox.Executor(wd, timeout_s=60)
        for _ in range(3):  # warm-up, not measured
            r = ex.run(SNIPPET)
            assert r.ok, r
        sb = []
        for _ in range(a.runs):
            t = time.perf_counter()
            r = ex.run(SNIPPET)
            sb.append(time.perf_counter() - t)
            assert r.ok, r
        iso = r.isolation
        script = os.path.join(wd, "naive.py")
        with open(script, "w") as f:
            f.write(SNIPPET)
        naive = []
        for _ in range(a.naive_runs):
            t = time.perf_counter()
            p = subprocess.run([sys.executable, script], cwd=wd, capture_output=True)
            naive.append(time.perf_counter() - t)
            assert p.returncode == 0, p.stderr
    ms = lambda x: f"{x * 1000:.1f} ms"  # noqa: E731
    m_sb, m_nv = statistics.median(sb), statistics.median(naive)
    print(
        f"machine: {os.cpu_count()} cpus, python {sys.version.split()[0]}, "
        f"load average {os.getloadavg()[0]:.1f} at the end, nice "
        f"{os.nice(0)}"
    )
    print(f"isolation: {iso}")
    print(f"zygote start (one-off): {start_s:.2f} s")
    print(f"sandbox.Executor.run     median {ms(m_sb)}  p10 {ms(pct(sb, 0.1))}  p90 {ms(pct(sb, 0.9))}  (n={len(sb)})")
    print(
        f"subprocess.run(python)   median {ms(m_nv)}  p10 {ms(pct(naive, 0.1))}"
        f"  p90 {ms(pct(naive, 0.9))}  (n={len(naive)})"
    )
    print(f"ratio (naive / sandbox medians): {m_nv / m_sb:.1f}x")
    print(
        f"target: median <= 50 ms: {'PASS' if m_sb <= 0.05 else 'FAIL'}; "
        f">= 10x: {'PASS' if m_nv / m_sb >= 10 else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
