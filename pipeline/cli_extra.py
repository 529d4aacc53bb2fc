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

    joins = sub.add_parser("joins", help="propose join keys between a main table and other tables")
    joins.add_argument("main", help="the main table (holds the target)")
    joins.add_argument("others", nargs="+", help="tables to join onto it")
    joins.add_argument("--limit", type=int, default=5, help="proposals per table")
    run = sub.choices.get("run")
    if run is not None:
        run.add_argument("--join", action=_JoinAction, dest="joins", metavar="FILE", default=[],
                         help="left-join another table onto DATA before the run (repeatable; see --on)")
        run.add_argument("--on", action=_OnAction, dest="joins", metavar="KEY[=OTHER_KEY]",
                         help="the key for the preceding --join (omitted: the top proposal is used)")
        run.add_argument("--allow-duplicates", choices=["first", "mean"], default=None,
                         help="resolve keys that repeat in a joined table: keep the first match or average numbers")


class _JoinAction(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):
        joins = list(getattr(namespace, self.dest, None) or [])
        joins.append({"path": values, "on": None})
        setattr(namespace, self.dest, joins)


class _OnAction(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):
        joins = list(getattr(namespace, self.dest, None) or [])
        if not joins or joins[-1]["on"] is not None:
            parser.error("--on must follow its --join FILE (one --on per --join)")
        joins[-1] = {**joins[-1], "on": values}
        setattr(namespace, self.dest, joins)


RUN_DEFAULTS = {"objective": ("objective", ""), "task": ("task", "auto"), "brain": ("brain", "auto"),
                "model": ("model", None), "time_budget": ("time_budget_s", 120.0), "max_loops": ("max_loops", 3),
                "max_trials": ("max_trials", None), "holdout": ("holdout_fraction", 0.2), "seed": ("seed", 42),
                "target": ("target", None), "approve": ("gates", None), "keep_columns": ("keep_columns", None)}


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
    if args.command == "joins":
        return cmd_joins(args)
    return None


def _name(path: str) -> str:
    from pathlib import Path

    return Path(path).name


def cmd_joins(args: argparse.Namespace) -> int:
    from pipeline.data import read_table
    from pipeline.joins import propose_keys

    main = read_table(args.main)
    for other_path in args.others:
        proposals = propose_keys(main, read_table(other_path), limit=args.limit)
        print(f"{_name(args.main)} <- {_name(other_path)}")
        if not proposals:
            print("  no key proposed: no column pair shares enough values")
        for i, p in enumerate(proposals, 1):
            flag = f"  DUPLICATES +{p.growth:,} rows" if p.growth > 0 else ""
            print(f"  {i}. --on {p.main_key if p.main_key == p.other_key else p.main_key + '=' + p.other_key:<30} "
                  f"score {p.score:.2f}  name {'yes' if p.name_match else 'no '}  overlap {p.overlap:6.1%}  "
                  f"rows matched {p.matched_rows:6.1%}  unique {'yes' if p.other_unique else 'no '} "
                  f"({p.uniqueness:.1%} distinct){flag}")
    return 0


def apply_joins(args: argparse.Namespace):
    """`run DATA --join FILE [--on KEY] ...`: join before the run; returns (joined path, dataset name, result).

    The joined table is written as Parquet under the runs home's uploads/ and the run reads it like any file,
    so the holdout is still split after the join. A key that repeats in a joined table is refused (exit 2)
    unless --allow-duplicates says how to resolve it."""
    from pipeline.data import infer_target, read_table
    from pipeline.joins import DuplicateJoinError, evaluate_key, join_tables, propose_keys, save_joined
    from pipeline.store import default_home

    main = read_table(args.data)
    target = args.target or (None if args.objective else infer_target(main))
    if target is not None and target not in main.columns:
        target = infer_target(main, target)
    if target is not None and not args.target and not getattr(args, "template", None):
        args.target = target     # inferred on the main table, where the target must live
    specs = []
    for j in args.joins:
        other = read_table(j["path"])
        name = _name(j["path"])
        if j["on"]:
            mk, _, ok = j["on"].partition("=")
            mk, ok = mk.strip(), (ok or mk).strip()
            p = evaluate_key(main, other, mk, ok)
        else:
            proposals = propose_keys(main, other, limit=1, exclude=(target,) if target else ())
            if not proposals:
                raise DataError(f"No join key found between {_name(args.data)} and {name}: no column pair shares "
                                "enough values. Name one with --on KEY or --on MAIN_KEY=OTHER_KEY.")
            p = proposals[0]
            print(f"Join {name}: using the top proposal {p.describe()}", file=sys.stderr)
        specs.append({"name": name, "frame": other, "main_key": p.main_key, "other_key": p.other_key,
                      "dedup": args.allow_duplicates})
    try:
        result = join_tables(main, specs, main_name=_name(args.data), target=target)
    except DuplicateJoinError as exc:
        raise DataError(f"{exc} Pass --allow-duplicates first (keep the first match) or --allow-duplicates mean "
                        f"(average numeric columns), or choose a unique key with --on.") from None
    for note in result.notes:
        print(note, file=sys.stderr)
    names = [_name(args.data)] + [s["name"] for s in specs]
    path = save_joined(result, default_home() / "uploads", names)
    print(f"Joined table: {len(result.frame):,} rows x {result.frame.shape[1]} columns -> {path}", file=sys.stderr)
    return str(path), " + ".join(names), result


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
