"""Server-side render time of the Observatory page with a finished run loaded (Streamlit's AppTest).

    python benchmarks/app_render.py --home /tmp/scale --run RUN_ID [--repeats 15]

HOME is a runs home (MLPIPELINE_HOME) whose store lists the run, e.g. the one benchmarks/scale.py wrote
(`--work`). The first render warms caches (imports, cached frames); the median of the rest is reported.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args()
    os.environ["MLPIPELINE_HOME"] = args.home
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["run"] = args.run
    t0 = time.perf_counter()
    at.run()
    first = time.perf_counter() - t0
    assert not at.exception, at.exception
    assert at.success and "Finished" in at.success[0].value, "the run did not render as finished"
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - t0)
    print(f"run {args.run}: first render {first * 1000:.0f} ms (cold)")
    print(
        f"re-renders: median {statistics.median(times) * 1000:.0f} ms, min {min(times) * 1000:.0f} ms, "
        f"max {max(times) * 1000:.0f} ms (n={len(times)})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
