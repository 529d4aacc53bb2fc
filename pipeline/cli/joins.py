"""`python -m pipeline joins` (propose join keys) and `run --join FILE [--on KEY]` (join before the run)."""

from __future__ import annotations

import argparse
import sys

from pipeline.tables.reader import DataError


def add_parser(sub: argparse._SubParsersAction) -> None:
    joins = sub.add_parser("joins", help="propose join keys between a main table and other tables")
    joins.add_argument("main", help="the main table (holds the target)")
    joins.add_argument("others", nargs="+", help="tables to join onto it")
    joins.add_argument("--limit", type=int, default=5, help="proposals per table")
    run = sub.choices.get("run")
    if run is not None:
        run.add_argument(
            "--join",
            action=_JoinAction,
            dest="joins",
            metavar="FILE",
            default=[],
            help="left-join another table onto DATA before the run (repeatable; see --on)",
        )
        run.add_argument(
            "--on",
            action=_OnAction,
            dest="joins",
            metavar="KEY[=OTHER_KEY]",
            help="the key for the preceding --join (omitted: the top proposal is used)",
        )
        run.add_argument(
            "--allow-duplicates",
            choices=["first", "mean"],
            default=None,
            help="resolve keys that repeat in a joined table: keep the first match or average numbers",
        )


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


def _name(path: str) -> str:
    from pathlib import Path

    return Path(path).name


def run(args: argparse.Namespace) -> int:
    from pipeline.tables.joins import propose_keys
    from pipeline.tables.reader import read_table

    main = read_table(args.main)
    for other_path in args.others:
        proposals = propose_keys(main, read_table(other_path), limit=args.limit)
        print(f"{_name(args.main)} <- {_name(other_path)}")
        if not proposals:
            print("  no key proposed: no column pair shares enough values")
        for i, p in enumerate(proposals, 1):
            flag = f"  DUPLICATES +{p.growth:,} rows" if p.growth > 0 else ""
            print(
                f"  {i}. --on {p.main_key if p.main_key == p.other_key else p.main_key + '=' + p.other_key:<30} "
                f"score {p.score:.2f}  name {'yes' if p.name_match else 'no '}  overlap {p.overlap:6.1%}  "
                f"rows matched {p.matched_rows:6.1%}  unique {'yes' if p.other_unique else 'no '} "
                f"({p.uniqueness:.1%} distinct){flag}"
            )
    return 0


def apply_joins(args: argparse.Namespace):
    """`run DATA --join FILE [--on KEY] ...`: join before the run; returns (joined path, dataset name, result).

    The joined table is written as Parquet under the runs home's uploads/ and the run reads it like any file,
    so the holdout is still split after the join. A key that repeats in a joined table is refused (exit 2)
    unless --allow-duplicates says how to resolve it."""
    from pipeline.run.store import default_home
    from pipeline.tables.joins import DuplicateJoinError, evaluate_key, join_tables, propose_keys, save_joined
    from pipeline.tables.reader import infer_target, read_table

    main = read_table(args.data)
    target = args.target or (None if args.objective else infer_target(main))
    if target is not None and target not in main.columns:
        target = infer_target(main, target)
    if target is not None and not args.target and not getattr(args, "template", None):
        args.target = target  # inferred on the main table, where the target must live
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
                raise DataError(
                    f"No join key found between {_name(args.data)} and {name}: no column pair shares "
                    "enough values. Name one with --on KEY or --on MAIN_KEY=OTHER_KEY."
                )
            p = proposals[0]
            print(f"Join {name}: using the top proposal {p.describe()}", file=sys.stderr)
        specs.append(
            {
                "name": name,
                "frame": other,
                "main_key": p.main_key,
                "other_key": p.other_key,
                "dedup": args.allow_duplicates,
            }
        )
    try:
        result = join_tables(main, specs, main_name=_name(args.data), target=target)
    except DuplicateJoinError as exc:
        raise DataError(
            f"{exc} Pass --allow-duplicates first (keep the first match) or --allow-duplicates mean "
            f"(average numeric columns), or choose a unique key with --on."
        ) from None
    for note in result.notes:
        print(note, file=sys.stderr)
    names = [_name(args.data)] + [s["name"] for s in specs]
    path = save_joined(result, default_home() / "uploads", names)
    print(f"Joined table: {len(result.frame):,} rows x {result.frame.shape[1]} columns -> {path}", file=sys.stderr)
    return str(path), " + ".join(names), result
