"""`python -m pipeline templates` (save a finished run as a template, list them) and `run --template`."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    templates = sub.add_parser("templates", help="save a finished run as a template, list templates")
    tsub = templates.add_subparsers(dest="templates_command", required=True)
    save = tsub.add_parser("save", help="save RUN_DIR's recipe as NAME")
    save.add_argument("run_dir")
    save.add_argument("name")
    tsub.add_parser("list", help="list saved templates")


RUN_DEFAULTS = {
    "objective": ("objective", ""),
    "task": ("task", "auto"),
    "brain": ("brain", "auto"),
    "model": ("model", None),
    "time_budget": ("time_budget_s", 120.0),
    "max_loops": ("max_loops", 3),
    "max_trials": ("max_trials", None),
    "holdout": ("holdout_fraction", 0.2),
    "seed": ("seed", 42),
    "target": ("target", None),
    "approve": ("gates", None),
    "keep_columns": ("keep_columns", None),
}


def template_config(args: argparse.Namespace, config):
    """The config with the template applied; flags given explicitly (not at their defaults) win."""
    from pipeline.artifacts.templates import apply_template, check_columns, load_template
    from pipeline.tables.reader import read_table

    template = load_template(args.template)
    check_columns(template, [str(c) for c in read_table(args.data).columns])
    keep = {field for flag, (field, default) in RUN_DEFAULTS.items() if getattr(args, flag, default) != default}
    return apply_template(config, template, keep), template


def run(args: argparse.Namespace) -> int:
    from pipeline.artifacts.templates import list_templates, save_template

    if args.templates_command == "save":
        path = save_template(args.run_dir, args.name)
        print(f"Saved template {args.name} to {path}", file=sys.stderr)
        print(str(path))
        return 0
    for t in list_templates():
        cfg = t["config"]
        print(
            f"{t['name']:<20} target {t['target']:<16} {t['model']['family'] or '-':<14} brain {cfg.get('brain')}  "
            f"budget {cfg.get('time_budget_s'):.0f}s  loops {cfg.get('max_loops')}  from {t['from_run']}"
        )
    return 0
