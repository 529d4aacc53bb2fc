"""`python -m pipeline run | predict | runs | graph`: the headless way to use the product.

Exit codes: 0 done, 1 the run failed or was cancelled, 2 bad input (one clear message, no traceback).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path

import sandbox
from pipeline import STARTED_AT
from pipeline.cli import joins, models, templates
from pipeline.state import PHASE_TITLES, PHASES, Event, RunConfig, RunState
from pipeline.tables.reader import DataError

EXTRA_VERBS = {"models": models, "templates": templates, "joins": joins}  # each: add_parser(sub), run(args)
ARTEFACTS = ("run.json", "metrics.json", "model.joblib", "report.md", "holdout_predictions.csv")


class Progress:
    """One line per transition on stderr (rewritten in place on a terminal), with elapsed time and budget."""

    def __init__(self, budget: float, stream=sys.stderr, start: float | None = None) -> None:
        self.start = time.monotonic() if start is None else start
        self.budget = budget
        self.stream = stream
        self.tty = stream.isatty()

    def __call__(self, event: Event, state: RunState) -> None:
        elapsed = time.monotonic() - self.start
        filled = int(20 * min(1.0, elapsed / max(self.budget, 1e-9)))
        bar = "█" * filled + "·" * (20 - filled)
        step = f"{PHASES.index(event.phase) + 1}/6 " if event.phase in PHASES else ""
        title = PHASE_TITLES.get(event.phase, "")
        labels = {
            "phase_started": "▶",
            "phase_finished": "✓",
            "phase_failed": "✗",
            "candidate": "•",
            "decision": "⟲",
            "run_started": "◆",
            "run_finished": "◆",
            "run_failed": "✗",
            "run_cancelled": "■",
        }
        text = event.message if event.kind not in ("phase_started",) else f"{title}"
        line = (
            f"[{bar}] {elapsed:6.1f}s/{self.budget:.0f}s  it{event.iteration} {step}"
            f"{labels.get(event.kind, '·')} {text}"
        )
        if self.tty and event.kind == "phase_started":
            self.stream.write("\r\033[K" + line)
        else:
            self.stream.write(("\r\033[K" if self.tty else "") + line + "\n")
        self.stream.flush()


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m pipeline", description="Autonomous tabular ML pipeline.")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the whole pipeline on a data file")
    run.add_argument("data", help="CSV, TSV, Excel, Parquet or JSON file")
    run.add_argument("--target", help="target column (inferred from the objective or the table when omitted)")
    run.add_argument("--objective", default="", help='plain-English goal, e.g. "predict churn; recall matters most"')
    run.add_argument("--task", default="auto", choices=["auto", "binary", "multiclass", "regression"])
    run.add_argument(
        "--brain",
        default="auto",
        choices=["auto", "offline", "anthropic", "openai"],
        help="auto (default): Anthropic if ANTHROPIC_API_KEY is set, else OpenAI if OPENAI_API_KEY or "
        "OPENAI_BASE_URL is set, else the offline brain; LLM_PROVIDER can pin one",
    )
    run.add_argument("--model", default=None, help="LLM model name (LLM brains only)")
    run.add_argument("--time-budget", type=float, default=120.0, help="wall-clock budget for the whole run, seconds")
    run.add_argument("--max-loops", type=int, default=3, help="how often the critic may send work back")
    run.add_argument("--max-trials", type=int, default=None, help="cap on Optuna trials per tuning round")
    run.add_argument("--holdout", type=float, default=0.2, help="fraction locked away as holdout")
    run.add_argument("--seed", type=int, default=42)
    run.add_argument(
        "--no-refit-full",
        dest="refit_full",
        action="store_false",
        help="deliver the model the holdout scored, trained on the training part only (default: once the "
        "holdout is scored, refit the chosen recipe on every row)",
    )
    run.add_argument("--out", default=None, help="run directory (default: runs/runs/<run id>)")
    run.add_argument("--store", default=None, help="SQLite run store (default: runs/store.sqlite)")
    run.add_argument("--template", default=None, help="replay a saved template (python -m pipeline templates list)")
    run.add_argument(
        "--keep-columns",
        default=None,
        metavar="C1,C2",
        help="use these columns as features even if the profile flags them as possible target leakage "
        "(flagged columns are excluded by default)",
    )
    run.add_argument(
        "--approve",
        default=None,
        metavar="GATES",
        help="pause for approval at these gates: features,training,finalize (or all)",
    )
    run.add_argument(
        "--decisions",
        default=None,
        metavar="FILE",
        help='JSON answers for the gates: {"features": {"approve": false, "feedback": "drop column x"}}; '
        "a gate missing from the file is approved, a file's answer applies once",
    )
    pred = sub.add_parser("predict", help="score new data with a finished run")
    pred.add_argument("--run", required=True, help="run directory")
    pred.add_argument("--data", required=True, help="file with new rows")
    pred.add_argument("--out", required=True, help="CSV to write")
    resume = sub.add_parser("resume", help="continue an interrupted run from its last completed phase")
    resume.add_argument("--run", required=True, help="run directory")
    resume.add_argument("--store", default=None, help="SQLite run store (default: runs/store.sqlite)")
    runs = sub.add_parser("runs", help="list recorded runs")
    runs.add_argument("--store", default=None)
    sub.add_parser("graph", help="print the pipeline graph as Mermaid")
    for verb in EXTRA_VERBS.values():
        verb.add_parser(sub)
    worker = sub.add_parser("tune-worker", help="join a run's Optuna studies (needs OPTUNA_STORAGE)")
    worker.add_argument("--run", required=True, help="run directory (shared with the run, e.g. over NFS)")
    worker.add_argument("--wait", type=float, default=600.0, help="give up after this many seconds")
    return p


def _prepare_out_dir(out: Path) -> None:
    """Reuse a folder only if it is empty or an earlier run's; never leave its old results looking current."""
    if out.exists() and any(out.iterdir()):
        if not (out / "run.json").exists():
            raise DataError(f"--out {out} is not empty and is not a run directory; choose an empty folder.")
        for name in ARTEFACTS:
            (out / name).unlink(missing_ok=True)
        for sub in ("export", "plots", "code", "models", "data", "work"):
            sandbox.remove_tree(out / sub)
    out.mkdir(parents=True, exist_ok=True)


def cmd_run(args: argparse.Namespace) -> int:
    from pipeline.engine.execute import execute
    from pipeline.engine.prepare import prepare
    from pipeline.run.store import RunStore, StoreError, default_home

    if args.time_budget <= 0:
        raise DataError("--time-budget must be a positive number of seconds.")
    if args.max_loops < 0:
        raise DataError("--max-loops must be 0 or more.")
    joined = None
    if getattr(
        args, "joins", None
    ):  # several files: join first (pipeline/tables/joins.py), then run on the joined table
        from pipeline.cli.joins import apply_joins

        args.data, dataset_name, joined = apply_joins(args)
    config = RunConfig(
        data_path=str(args.data),
        target=args.target,
        objective=args.objective,
        task=args.task,
        brain=args.brain,
        model=args.model,
        time_budget_s=args.time_budget,
        max_loops=args.max_loops,
        holdout_fraction=args.holdout,
        seed=args.seed,
        max_trials=args.max_trials,
        refit_full=args.refit_full,
    )
    if joined is not None:
        config.dataset_name = dataset_name
    if args.keep_columns:
        config.keep_columns = [c.strip() for c in args.keep_columns.split(",") if c.strip()]
    from pipeline.cli.deciders import CliDecider, load_decisions
    from pipeline.run.gates import parse_gates

    try:
        config.gates = parse_gates(args.approve)
        decisions = load_decisions(args.decisions) if args.decisions else None
    except ValueError as exc:
        raise DataError(str(exc)) from None
    template = None
    if getattr(args, "template", None):
        from pipeline.cli.templates import template_config

        config, template = template_config(args, config)
    progress = Progress(config.time_budget_s, start=STARTED_AT)
    prepared = prepare(config)
    prepared.started_at = STARTED_AT
    interactive = decisions is None and sys.stdin.isatty()
    if config.gates and decisions is None and not interactive:
        prepared.state.notes.append(
            f"Approval gates ({', '.join(config.gates)}) were approved automatically: "
            "no terminal to ask and no --decisions file."
        )
    decide = CliDecider(decisions, interactive)
    if joined is not None:
        from pipeline.tables.joins import check_target

        check_target(joined, prepared.state.config.target)
    if template is not None:
        from pipeline.artifacts.templates import TemplateBrain

        prepared.brain = TemplateBrain(prepared.brain, template)
    try:
        store = RunStore(args.store) if args.store else RunStore()
    except StoreError as exc:
        raise DataError(str(exc)) from None
    run_dir = Path(args.out) if args.out else default_home() / "runs" / prepared.state.run_id
    try:
        _prepare_out_dir(run_dir)
        (run_dir / ".write-test").write_bytes(b"")
        (run_dir / ".write-test").unlink()
    except OSError as exc:
        raise DataError(f"The run directory {run_dir} cannot be written ({exc.strerror or exc}).") from None
    cancel = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.set())
    try:
        state = execute(prepared, run_dir, store, progress, cancel, decide=decide)
    finally:
        signal.signal(signal.SIGINT, previous)
    if state.status == "finished":
        best = next(s for s in state.iterations if s.iteration == state.selected_iteration)
        metric = state.objective.metric
        print(
            f"Finished: {best.model}, CV {metric} {best.cv_score:.4f}, holdout {metric} "
            f"{best.holdout_metrics.get(metric, float('nan')):.4f}",
            file=sys.stderr,
        )
        print(str(run_dir))
        return 0
    print(f"{state.status.capitalize()}: {state.error}", file=sys.stderr)
    return 1


def cmd_resume(args: argparse.Namespace) -> int:
    from pipeline.engine.execute import execute
    from pipeline.engine.resume import prepare_resume
    from pipeline.run.store import RunStore, StoreError

    prepared = prepare_resume(args.run)
    try:
        store = RunStore(args.store) if args.store else RunStore()
    except StoreError as exc:
        raise DataError(str(exc)) from None
    print(prepared.state.notes[-1], file=sys.stderr)
    cancel = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.set())
    try:
        state = execute(prepared, Path(args.run), store, Progress(prepared.budget_s or 60.0), cancel)
    finally:
        signal.signal(signal.SIGINT, previous)
    if state.status == "finished":
        print(f"Finished after resuming: {state.training.best or ''}", file=sys.stderr)
        print(str(Path(args.run)))
        return 0
    print(f"{state.status.capitalize()}: {state.error}", file=sys.stderr)
    return 1


def cmd_predict(args: argparse.Namespace) -> int:
    from pipeline.artifacts.predict import predict_file
    from pipeline.files import write_atomic

    frame = predict_file(args.run, args.data)
    write_atomic(Path(args.out), frame.to_csv(index=False))
    print(f"Wrote {len(frame):,} predictions to {args.out}", file=sys.stderr)
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    from pipeline.run.store import RunStore

    for row in RunStore(args.store).list():
        score = f"{row['holdout_score']:.4f}" if row["holdout_score"] is not None else "—"
        print(
            f"{row['run_id']}  {row['status']:<11} {row['dataset'] or '':<24} {row['target'] or '':<16} "
            f"{row['metric'] or '':<10} {score}  {row['run_dir']}"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            return cmd_run(args)
        if args.command == "predict":
            return cmd_predict(args)
        if args.command == "resume":
            return cmd_resume(args)
        if args.command == "runs":
            return cmd_runs(args)
        if args.command in EXTRA_VERBS:
            return EXTRA_VERBS[args.command].run(args)
        if args.command == "tune-worker":
            from pipeline.ml.tuning import worker

            try:
                ran = worker(args.run, wait_s=args.wait)
            except ValueError as exc:
                raise DataError(str(exc)) from None
            print(f"tune-worker: {ran} trials in total", file=sys.stderr)
            return 0
        from pipeline.engine.graph import to_mermaid

        print(to_mermaid())
        return 0
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 1
