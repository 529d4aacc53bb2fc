"""The end of a run: pick the best iteration by CV and write the artefacts a user downloads.

The holdout scores written here were computed for display; the choice is made on CV only.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.files import dump_atomic, write_atomic, write_json
from pipeline.ml.metrics import is_better
from pipeline.run.context import PhaseContext
from pipeline.run.delivery import deliver
from pipeline.state import PHASE_TITLES, IterationSummary, RunState

PREDICT_PY = '''"""Score new data with this exported model: python predict.py INPUT OUTPUT.csv

INPUT may be CSV, TSV, Excel (.xlsx), Parquet or JSON. The output has a `prediction` column and, for
classification, one `proba_<class>` column per class, in input row order.
"""
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import joblib  # noqa: E402
import pandas as pd  # noqa: E402

from pipeline.ml.runtime import FeatureCodeError, MissingColumnsError  # noqa: E402


def read_any(path):
    suffix = Path(path).suffix.lower()
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if suffix in (".xlsx", ".xlsm"):
        return pd.read_excel(path)
    if suffix in (".json", ".jsonl"):
        try:
            return pd.read_json(path)
        except ValueError:
            return pd.read_json(path, lines=True)
    return pd.read_csv(path, sep=None, engine="python")


def main(argv):
    if len(argv) != 3:
        print("usage: python predict.py INPUT OUTPUT.csv", file=sys.stderr)
        return 2
    model = joblib.load(HERE / "model.joblib")
    try:
        frame = read_any(argv[1])
        features = model.features(frame)
    except (MissingColumnsError, FeatureCodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(f"error: cannot read {argv[1]}: {exc}", file=sys.stderr)
        return 2
    model.prediction_frame(features).to_csv(argv[2], index=False)
    print(f"wrote {len(frame)} predictions to {argv[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
'''


def select_best(state: RunState) -> IterationSummary:
    """The iteration with the best CV score (ties keep the earlier, simpler one)."""
    best = None
    for summary in state.iterations:
        if best is None or is_better(summary.cv_score, best.cv_score, state.objective.greater_is_better):
            best = summary
    if best is None:
        raise RuntimeError("no iteration produced a model")
    return best


def report_markdown(state: RunState, best: IterationSummary, delivery: dict | None = None) -> str:
    obj, prof, tr = state.objective, state.profile, state.training
    hold = best.holdout_metrics
    findings = prof.findings_md
    if prof.leakage_note and findings.startswith(prof.leakage_note):  # shown once, at the top
        findings = findings[len(prof.leakage_note) :].lstrip()
    lines = (
        [f"# Run {state.run_id}", ""]
        + ([prof.leakage_note, ""] if prof.leakage_note else [])
        + [
            f"- Dataset: `{state.config.dataset_name or Path(state.config.data_path).name}`",
            f"- Target: `{prof.target}` ({prof.task}); objective: {state.config.objective or '(none given)'}",
            f"- Metric optimised: **{obj.metric}** — {obj.explanation}",
            f"- Brain: {state.config.brain}; selected iteration **{best.iteration}** of {len(state.iterations)} "
            f"(best CV), model **{best.model}**",
            f"- CV {obj.metric}: **{best.cv_score:.4f}**; holdout {obj.metric}: **{hold.get(obj.metric, float('nan')):.4f}**",
            f"- Delivered model: {_delivered_line(delivery)}",
            "",
            "## Data profile",
            "",
            prof.summary,
            "",
            findings,
            "",
        ]
    )
    if prof.sample_note:
        lines += [f"_Sampling: {prof.sample_note}_", ""]
    lines += ["## Features", ""]
    for a in state.features.attempts:
        lines.append(f"- Iteration {a.iteration} ({a.source}): {a.reason}")
    lines += [
        "",
        "## Models (cross-validation on the training part)",
        "",
        f"| candidate | CV {obj.metric} | fit s | note |",
        "|---|---|---|---|",
    ]
    for c in tr.candidates:
        score = f"{c.cv_score:.4f}" if c.cv_score is not None else "—"
        lines.append(f"| {c.name} (it {c.iteration}) | {score} | {c.fit_seconds:.1f} | {c.error} |")
    lines += [
        "",
        f"Tuned parameters of the final model: `{tr.best_params}`",
        "",
        "## Holdout evaluation (locked before any feature work; used for this report only)",
        "",
        "| metric | holdout |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v:.4f} |" for k, v in hold.items()]
    lines += ["", state.evaluation.summary_md, "", "## Critic", ""]
    for d in state.decisions:
        lines.append(f"- Iteration {d.iteration}: **{d.action}** — {d.reason}")
    lines += ["", "## Timeline", "", "| phase | iteration | status | seconds |", "|---|---|---|---|"]
    for r in state.history:
        lines.append(f"| {PHASE_TITLES.get(r.phase, r.phase)} | {r.iteration} | {r.status} | {r.duration_s or 0:.1f} |")
    if state.plots.plots:
        lines += ["", "## Plots", ""] + [f"![{p.title}]({p.path})" for p in state.plots.plots]
    if state.notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in state.notes]
    return "\n".join(lines) + "\n"


def _delivered_line(delivery: dict | None) -> str:
    if not delivery or not delivery.get("refit_on_all_rows"):
        return "the model the holdout scored (trained on the training part)."
    bags = f", averaged over {delivery['bags']} seeds" if delivery.get("bags", 1) > 1 else ""
    return (
        f"the same recipe refit on all {delivery['rows']:,} rows{bags} after the holdout was scored; the holdout "
        "figures above are the honest estimate for it (measured before the refit)."
    )


def finalize(state: RunState, ctx: PhaseContext) -> None:
    """Refit the best iteration's recipe on every row (see delivery), then write model.joblib, metrics.json,
    holdout predictions, report.md and export/. What does not depend on the delivered model is written first,
    so the refit's time ends as close to the budget as the remaining writes allow."""
    from pipeline.artifacts.export import write_bundle
    from pipeline.artifacts.registry import dataset_fingerprint, lineage

    best = select_best(state)
    state.selected_iteration = best.iteration
    run_dir = ctx.run_dir
    recipe = ctx.data.models[best.iteration]
    split = ctx.split
    n_train, n_holdout, columns = len(split.X_train), len(split.X_holdout), list(split.X_train.columns)
    write_atomic(run_dir / "holdout_predictions.csv", ctx.data.holdout_predictions[best.iteration].to_csv(index=False))
    dataset = dataset_fingerprint(state, n_train + n_holdout, columns)
    delivered = deliver(state, ctx, best)
    if delivered.note:
        state.notes.append(delivered.note)
    dump_atomic(run_dir / "model.joblib", delivered.model)
    delivery = delivered.summary()
    metrics = {
        "task": state.profile.task,
        "metric": state.objective.metric,
        "greater_is_better": state.objective.greater_is_better,
        "selected_iteration": best.iteration,
        "model": best.model,
        "cv": best.cv_metrics,
        "holdout": best.holdout_metrics,
        "holdout_scored_model_rows": best.refit_rows or n_train,
        "threshold": recipe.threshold,
        "n_train": n_train,
        "n_holdout": n_holdout,
        "delivered": delivery,
        "leakage_suspects": [{k: s.get(k) for k in ("column", "rule", "kept")} for s in state.profile.leakage_suspects],
    }
    write_json(run_dir / "metrics.json", metrics)
    write_bundle(run_dir, run_dir / "model.joblib", PREDICT_PY, state, best, recipe, delivery)
    write_json(run_dir / "lineage.json", lineage(state, best, dataset, columns, recipe, delivery))
    write_atomic(run_dir / "report.md", report_markdown(state, best, delivery))
