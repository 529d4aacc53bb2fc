"""The leakage rule on the quality benchmark's real tables: it must exclude nothing honest, and catch a planted
imperfect leak on every table.

For each (table, seed), on the training part a run of the quality benchmark would profile (the benchmark's 75 %
train split, then the run's own holdout split, as `prepare` makes them):
- honest: the leakage suspects of the table as it is. The rule must not cost honest strong predictors: any
  column it flags here is a false alarm, listed by name.
- planted: the same rows with one more column, the target with 5 % of its values changed (labels flipped to
  another class, numbers swapped for another row's) under an innocent name. It must be flagged and excluded,
  and nothing else with it.

With --runs, the whole pipeline also runs at --budget on the planted train split (new rows, the test split, do
not have the column) and is scored on the benchmark's unseen 25 %; the report sets that score beside the
pipeline's latest record without the plant (same split, same budget, paired bootstrap of the test rows): the
holdout should stay within noise of it, since the column is never used.

    python benchmarks/leak_check.py                         # profiles: all 25 tables, seeds 0,1,2 (minutes)
    python benchmarks/leak_check.py --runs --seeds 1 --group heldout
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import jsonl, quality  # noqa: E402  (after the path insert)
from benchmarks.quality_report import NAMES, latest, table_result  # noqa: E402
from benchmarks.tables import GROUPS, Table  # noqa: E402
from pipeline.engine.prepare import prepare  # noqa: E402
from pipeline.phases.profiler import profile_frame  # noqa: E402
from pipeline.state import RunConfig  # noqa: E402

PLANT = "review_code"
FLIP_SHARE = 0.05
RESULTS = ROOT / "benchmarks" / "results" / "leak_check.jsonl"
NAMES.setdefault("planted", "pipeline, leak planted")


def planted(frame: pd.DataFrame, target: str, regression: bool, seed: int) -> pd.DataFrame:
    """The table with the target copied under an innocent name, 5 % of the copy's values changed."""
    rng = np.random.default_rng([seed, 5])
    y = frame[target].to_numpy()
    leak = y.copy()
    classes = pd.unique(y[pd.notna(y)])
    for i in np.flatnonzero(rng.random(len(y)) < FLIP_SHARE):
        leak[i] = rng.choice(y) if regression else rng.choice(classes[classes != y[i]])
    out = frame.copy()
    out.insert(min(3, frame.shape[1]), PLANT, leak)
    return out


def train_csv(table: Table, frame: pd.DataFrame, seed: int, path: Path) -> None:
    """The benchmark's 75 % train split of `frame` (the same rows quality.make_split draws) as CSV."""
    strata = frame[table.target].astype(str) if table.task != "regression" else None
    train, _ = train_test_split(frame, test_size=0.25, random_state=seed, stratify=strata)
    train.to_csv(path, index=False)


def suspects(table: Table, path: Path, seed: int) -> tuple[list[dict], int, float]:
    """The leakage suspects the run's profile would name for this train file, how many columns were checked, and
    the seconds it took."""
    config = RunConfig(data_path=str(path), target=table.target, task=table.task, seed=seed, time_budget_s=60)
    split = prepare(config).split
    started = time.monotonic()
    profile = profile_frame(split.X_train, split.y_train, table.target, table.task, seed)
    return profile.leakage_suspects, split.X_train.shape[1], time.monotonic() - started


def profile_row(table: Table, frame: pd.DataFrame, seed: int, work: Path) -> dict:
    honest_csv, planted_csv = work / "honest.csv", work / "planted.csv"
    train_csv(table, frame, seed, honest_csv)
    train_csv(table, planted(frame, table.target, table.task == "regression", seed), seed, planted_csv)
    honest, columns, honest_s = suspects(table, honest_csv, seed)
    caught, _, planted_s = suspects(table, planted_csv, seed)
    plant = next((s for s in caught if s["column"] == PLANT), None)
    return {
        "table": table.name,
        "group": table.group,
        "task": table.task,
        "seed": seed,
        "columns": columns,
        "honest_flagged": [s["column"] for s in honest],
        "planted_flagged": plant is not None,
        "planted_excluded": plant is not None and not plant.get("kept"),
        "planted_rule": plant.get("rule") if plant else None,
        "others_flagged_with_plant": [s["column"] for s in caught if s["column"] != PLANT],
        "profile_s": round(max(honest_s, planted_s), 2),
        "commit": quality.git_commit(),
    }


def run_planted(table: Table, frame: pd.DataFrame, seed: int, budget: float, work: Path) -> dict:
    """The pipeline on the planted train split, scored like the quality benchmark's pipeline on its test rows."""
    split = quality.make_split(table, frame, seed, work)  # the honest test rows and their digest
    train_csv(table, planted(frame, table.target, table.task == "regression", seed), seed, split.train_csv)
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="planted-", dir=work) as tmp:
        outcome = quality.run_pipeline(split, budget, Path(tmp))
        if outcome.extra is not None and (Path(tmp) / "run" / "metrics.json").exists():
            metrics = json.loads((Path(tmp) / "run" / "metrics.json").read_text())
            outcome.extra["leakage_suspects"] = metrics.get("leakage_suspects")
    row = quality.record(split, "planted", budget, outcome, (load_start, os.getloadavg()[0]))
    row["kind"] = "run"
    return row


def report(profiles: list[dict], runs: list[dict], tables: list[Table], budget: float) -> str:
    lines = ["# Leakage rule on the benchmark tables", ""]
    if profiles:
        lines += [
            f"Planted column: the target with {FLIP_SHARE:.0%} of its values changed, named `{PLANT}`.",
            "",
            "| table | group | task | seeds | columns | honest columns flagged | plant excluded | rule | "
            "others flagged beside it | profile s (max) |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for table in tables:
            rows = [r for r in profiles if r["table"] == table.name]
            if not rows:
                continue
            honest = sorted({c for r in rows for c in r["honest_flagged"]})
            others = sorted({c for r in rows for c in r["others_flagged_with_plant"]})
            excluded = sum(r["planted_excluded"] for r in rows)
            rules = sorted({r["planted_rule"] for r in rows if r["planted_rule"]})
            lines.append(
                f"| {table.name} | {table.group} | {table.task} | {len(rows)} | {rows[0]['columns']} | "
                f"{', '.join(honest) or 'none'} | {excluded} of {len(rows)} | {', '.join(rules) or '—'} | "
                f"{', '.join(others) or 'none'} | {max(r['profile_s'] for r in rows):.1f} |"
            )
        false_alarms = sum(bool(r["honest_flagged"]) for r in profiles)
        missed = sum(not r["planted_excluded"] for r in profiles)
        lines += [
            "",
            f"- (table, seed) pairs: {len(profiles)}; honest columns flagged in {false_alarms}; "
            f"the plant missed or kept in {missed}.",
            "",
        ]
    if runs:
        pipeline_records = [r for r in jsonl.read(quality.RESULTS) if r["tool"] == "pipeline"]
        best = latest(pipeline_records + runs, budget)
        lines += [
            f"## The pipeline with the plant, at {budget:.0f} s, beside its latest record without it",
            "",
            "| table | seed | without | with plant | difference ± SE | plant used by the model |",
            "|---|---|---|---|---|---|",
        ]
        diffs = []
        for table in tables:
            for seed in sorted({r["seed"] for r in runs if r["table"] == table.name}):
                key_p, key_l = (table.name, seed, "pipeline"), (table.name, seed, "planted")
                if key_p not in best or key_l not in best or best[key_l]["score"] is None:
                    continue
                result = table_result(table, [seed], best, ["pipeline", "planted"])
                diff, se = -result.diff["planted"], result.se("planted")
                diffs.append(diff / se if se > 0 else 0.0)
                kept = [s["column"] for s in best[key_l].get("leakage_suspects") or [] if s.get("kept")]
                lines.append(
                    f"| {table.name} | {seed} | {result.scores['pipeline']:.4f} | {result.scores['planted']:.4f} | "
                    f"{diff:+.4f} ± {se:.4f} | {'yes' if kept else 'no'} |"
                )
        if diffs:
            lines += [
                "",
                f"- Beyond 2 SE: {sum(abs(z) > 2 for z in diffs)} of {len(diffs)}; "
                f"largest |difference| / SE {max(abs(z) for z in diffs):.1f}.",
            ]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--tables", default="")
    ap.add_argument("--group", choices=("all",) + GROUPS, default="all")
    ap.add_argument("--runs", action="store_true", help="also run the pipeline on the planted tables")
    ap.add_argument("--budget", type=float, default=60.0)
    ap.add_argument("--report", action="store_true", help="only the report, from the results file")
    ap.add_argument("--results", default=str(RESULTS))
    ap.add_argument("--venv", default=str(ROOT / ".bench-venv"))
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",") if s]
    tables = quality.select_tables(args.tables, args.group)
    results = Path(args.results)
    if not args.report:
        python = quality.ensure_venv(Path(args.venv))
        commit = quality.git_commit()
        done = {
            (r["table"], r["seed"], r.get("kind", "profile"))
            for r in (jsonl.read(results) if results.exists() else [])
            if r.get("commit") == commit
        }
        for seed in seeds:
            for table in tables:
                frame = quality.cached_table(table, python)
                with tempfile.TemporaryDirectory(prefix=f"leak-{table.name}-{seed}-") as tmp:
                    if (table.name, seed, "profile") not in done:
                        row = profile_row(table, frame, seed, Path(tmp))
                        jsonl.append(results, [row])
                        print(
                            f"seed {seed} {table.name}: honest flagged {row['honest_flagged'] or 'none'}, "
                            f"plant excluded {row['planted_excluded']}",
                            file=sys.stderr,
                            flush=True,
                        )
                    if args.runs and (table.name, seed, "run") not in done:
                        row = run_planted(table, frame, seed, args.budget, Path(tmp))
                        jsonl.append(results, [row])
                        print(quality.progress(row), file=sys.stderr, flush=True)
    latest_rows = {  # the latest record of each (table, seed, kind): a rerun at a later commit supersedes
        (r["table"], r["seed"], r.get("kind", "profile")): r for r in (jsonl.read(results) if results.exists() else [])
    }
    records = [r for r in latest_rows.values() if r["seed"] in seeds]
    names = {t.name for t in tables}
    profiles = [r for r in records if r.get("kind", "profile") == "profile" and r["table"] in names]
    runs = [r for r in records if r.get("kind") == "run" and r["table"] in names]
    print(report(profiles, runs, tables, args.budget))
    return 0


if __name__ == "__main__":
    sys.exit(main())
