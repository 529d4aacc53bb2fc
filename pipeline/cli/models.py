"""`python -m pipeline models`: list the model registry, compare runs, mark the production model."""

from __future__ import annotations

import argparse
import sys

from pipeline.tables.reader import DataError


def add_parser(sub: argparse._SubParsersAction) -> None:
    models = sub.add_parser("models", help="the model registry: list, compare, mark production")
    models.add_argument("--store", default=None)
    models.add_argument("--dataset", default=None, help="filter by dataset name or fingerprint hash (prefix)")
    models.add_argument("--compare", nargs="+", metavar="RUN_ID", help="compare two or more registered runs")
    models.add_argument("--production", metavar="RUN_ID", help="mark this run's model as production for its dataset")


def _filter(entries: list[dict], dataset: str | None) -> list[dict]:
    if not dataset:
        return entries
    return [e for e in entries if e["dataset"] == dataset or e["dataset_hash"].startswith(dataset)]


def run(args: argparse.Namespace) -> int:
    from pipeline.artifacts.registry import compare_table
    from pipeline.run.store import RunStore

    store = RunStore(args.store) if args.store else RunStore()
    if args.production:
        try:
            digest = store.set_production(args.production)
        except KeyError as exc:
            raise DataError(str(exc.args[0])) from None
        print(f"{args.production} is the production model for dataset {digest[:12]}", file=sys.stderr)
        return 0
    entries = _filter(store.registry(), args.dataset)
    if args.compare:
        by_id = {e["run_id"]: e for e in entries}
        missing = [r for r in args.compare if r not in by_id]
        if missing:
            raise DataError("Not in the model registry: " + ", ".join(missing))
        if len(args.compare) < 2:
            raise DataError("--compare needs two or more run ids.")
        print(compare_table([by_id[r] for r in args.compare]).to_string())
        return 0
    for e in entries:
        score = f"{e['holdout_score']:.4f}" if e["holdout_score"] is not None else "—"
        print(
            f"{e['run_id']}  {'*' if e['production'] else ' '} {e['dataset']:<24} {e['dataset_hash'][:12]}  "
            f"{e['target']:<16} {e['metric']:<10} {score}  {e['model']}"
        )
    return 0
