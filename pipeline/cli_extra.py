"""CLI verbs and `run` flags for the model registry, templates, approval gates and multi-file data.

Kept apart from cli.py so the core verbs stay short: `_parser()` calls `add_parsers`, `main()` calls `dispatch`.
"""
from __future__ import annotations

import argparse
import sys

from pipeline.data import DataError


def add_parsers(sub: argparse._SubParsersAction) -> None:
    models = sub.add_parser("models", help="the model registry: list, compare, mark production")
    models.add_argument("--store", default=None)
    models.add_argument("--dataset", default=None, help="filter by dataset name or fingerprint hash (prefix)")
    models.add_argument("--compare", nargs="+", metavar="RUN_ID", help="compare two or more registered runs")
    models.add_argument("--production", metavar="RUN_ID", help="mark this run's model as production for its dataset")


    templates = sub.add_parser("templates", help="save a finished run as a template, list templates")
    tsub = templates.add_subparsers(dest="templates_command", required=True)
    save = tsub.add_parser("save", help="save RUN_DIR's recipe as NAME")
    save.add_argument("run_dir")
    save.add_argument("name")
    tsub.add_parser("list", help="list saved templates")


RUN_DEFAULTS = {"objective": ("objective", ""), "task": ("task", "auto"), "brain": ("brain", "auto"),
                "model": ("model", None), "time_budget": ("time_budget_s", 120.0), "max_loops": ("max_loops", 3),
                "max_trials": ("max_trials", None), "holdout": ("holdout_fraction", 0.2), "seed": ("seed", 42),
                "target": ("target", None)}


def template_config(args: argparse.Namespace, config):
    """The config with the template applied; flags given explicitly (not at their defaults) win."""
    from pipeline.data import read_table
    from pipeline.templates import apply_template, check_columns, load_template

    template = load_template(args.template)
    check_columns(template, [str(c) for c in read_table(args.data).columns])
    keep = {field for flag, (field, default) in RUN_DEFAULTS.items() if getattr(args, flag, default) != default}
    return apply_template(config, template, keep), template


def cmd_templates(args: argparse.Namespace) -> int:
    from pipeline.templates import list_templates, save_template

    if args.templates_command == "save":
        path = save_template(args.run_dir, args.name)
        print(f"Saved template {args.name} to {path}", file=sys.stderr)
        print(str(path))
        return 0
    for t in list_templates():
        cfg = t["config"]
        print(f"{t['name']:<20} target {t['target']:<16} {t['model']['family'] or '-':<14} brain {cfg.get('brain')}  "
              f"budget {cfg.get('time_budget_s'):.0f}s  loops {cfg.get('max_loops')}  from {t['from_run']}")
    return 0


def dispatch(args: argparse.Namespace) -> int | None:
    if args.command == "models":
        return cmd_models(args)
    if args.command == "templates":
        return cmd_templates(args)
    return None


def _filter(entries: list[dict], dataset: str | None) -> list[dict]:
    if not dataset:
        return entries
    return [e for e in entries if e["dataset"] == dataset or e["dataset_hash"].startswith(dataset)]


def cmd_models(args: argparse.Namespace) -> int:
    from pipeline.registry import compare_table
    from pipeline.store import RunStore

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
        print(f"{e['run_id']}  {'*' if e['production'] else ' '} {e['dataset']:<24} {e['dataset_hash'][:12]}  "
              f"{e['target']:<16} {e['metric']:<10} {score}  {e['model']}")
    return 0
