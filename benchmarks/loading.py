"""Loading benchmark: pipeline.tables.reader.read_table against pandas.read_csv(engine="pyarrow") on the same file.

    python benchmarks/loading.py --rows 1000000 --repeats 5

Both read the same generated CSV (the scale benchmark's table), alternating (who goes first alternates too,
and nothing else is alive during a read), several times; medians and the ratio are printed. read_table also sniffs the format and delimiter, validates names and converts
"1,234"-style numbers, so it does more than the bare call it is compared with.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.scale import make_table  # noqa: E402
from pipeline.tables.reader import read_table  # noqa: E402


def paired_ratio(ours: list[float], theirs: list[float]) -> float:
    """Median of ours/theirs over reads made side by side: a shared machine's load drifts over a run, and a
    pair sees the same load, so this varies less between runs than the ratio of the two medians."""
    return statistics.median(a / b for a, b in zip(ours, theirs))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--file", default=None, help="an existing CSV to read instead of generating one")
    args = ap.parse_args()
    path = Path(args.file) if args.file else Path(tempfile.gettempdir()) / f"loading_{args.rows}.csv"
    if not path.exists():
        make_table(args.rows).to_csv(path, index=False)
    readers = {"ours": lambda: read_table(path), "theirs": lambda: pd.read_csv(path, engine="pyarrow")}
    times: dict[str, list[float]] = {"ours": [], "theirs": []}
    shapes = {}
    for i in range(args.repeats):
        # each read starts with nothing else alive, and the order alternates: the first read of a pair
        # otherwise pays for freeing the previous pair's frames
        for name in ("ours", "theirs") if i % 2 == 0 else ("theirs", "ours"):
            gc.collect()
            t0 = time.perf_counter()
            frame = readers[name]()
            times[name].append(time.perf_counter() - t0)
            shapes[name] = frame.shape
            del frame
    ours, theirs = times["ours"], times["theirs"]
    assert shapes["ours"] == shapes["theirs"], shapes
    frame = read_table(path)
    a, b = statistics.median(ours), statistics.median(theirs)
    print(f"file: {path.stat().st_size / 2**20:.1f} MB, {frame.shape[0]:,} rows × {frame.shape[1]} columns")
    print(f"pipeline.tables.reader.read_table          median {a:.3f} s  (min {min(ours):.3f}, max {max(ours):.3f})")
    print(f"pandas.read_csv(engine='pyarrow') median {b:.3f} s  (min {min(theirs):.3f}, max {max(theirs):.3f})")
    print(f"ratio read_table / pyarrow: {a / b:.2f} (medians); paired, read by read: {paired_ratio(ours, theirs):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
