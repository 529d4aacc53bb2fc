"""Evaluator: the iteration's model on the locked holdout, for display and the report only.

Nothing computed here chooses anything: the critic sees the train-vs-CV gap, not holdout scores.
Plots are drawn in this process with matplotlib's object API (no pyplot state, thread-safe).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn import metrics as skm

from pipeline.ml.cv import metrics_from_oof
from pipeline.run.context import PhaseContext
from pipeline.state import EvalResult, PlotInfo, RunState
from pipeline.theme import PALETTE, rc_params

CURVE_POINTS = 200


def _figure(width: float = 5.5, height: float = 4.2) -> tuple[Figure, object]:
    import matplotlib

    with matplotlib.rc_context(rc_params(True)):
        fig = Figure(figsize=(width, height))
        ax = fig.add_subplot(1, 1, 1)
    return fig, ax


def _save(fig: Figure, ctx: PhaseContext, name: str, iteration: int) -> str:
    import matplotlib

    path = ctx.run_dir / "plots" / f"it{iteration}_eval_{name}.png"
    path.parent.mkdir(exist_ok=True)
    with matplotlib.rc_context(rc_params(True)):
        fig.savefig(path, dpi=150, bbox_inches="tight")
    return str(path.relative_to(ctx.run_dir))


def _thin(x: np.ndarray, y: np.ndarray) -> tuple[list[float], list[float]]:
    if len(x) > CURVE_POINTS:
        idx = np.unique(np.linspace(0, len(x) - 1, CURVE_POINTS).astype(int))
        x, y = x[idx], y[idx]
    return [round(float(v), 5) for v in x], [round(float(v), 5) for v in y]


def overfit(
    train: dict[str, float], cv: dict[str, float], metric: str, greater_is_better: bool
) -> tuple[float | None, str]:
    """Relative gap between the in-sample score and the CV score, and a plain-word risk level."""
    a, b = train.get(metric), cv.get(metric)
    if a is None or b is None or not np.isfinite(a) or not np.isfinite(b):
        return None, ""
    gap = (a - b) / max(abs(b), 1e-9) if greater_is_better else (b - a) / max(abs(b), 1e-9)
    risk = "high" if gap > 0.10 else "moderate" if gap > 0.05 else "low"
    return float(gap), risk


def run(state: RunState, ctx: PhaseContext) -> EvalResult:
    split, obj, task, it = ctx.split, state.objective, state.profile.task, state.iteration
    model = ctx.data.models[it]
    F = ctx.data.features.holdout
    y = split.y_holdout.reset_index(drop=True)
    result = EvalResult()
    if task == "regression":
        pred = model.predict_features(F)
        ctx.data.keep_holdout_predictions(it, pd.DataFrame({"actual": y, "prediction": pred}))
        result.holdout_metrics = metrics_from_oof(y, pred, task, None)
        fig, ax = _figure()
        ax.scatter(y, pred, s=8, alpha=0.5, color=PALETTE[1])
        lo, hi = float(min(y.min(), pred.min())), float(max(y.max(), pred.max()))
        ax.plot([lo, hi], [lo, hi], ls="--", color=PALETTE[2])
        ax.set(title="Predicted vs actual (holdout)", xlabel="actual", ylabel="predicted")
        result.plots.append(
            PlotInfo(
                "pred_vs_actual",
                "Predicted vs actual",
                _save(fig, ctx, "pred_vs_actual", it),
                f"R² {result.holdout_metrics['r2']:.3f} on {len(y):,} holdout rows.",
            )
        )
        resid = y.to_numpy(dtype=float) - pred
        fig, ax = _figure()
        ax.scatter(pred, resid, s=8, alpha=0.5, color=PALETTE[0])
        ax.axhline(0, ls="--", color=PALETTE[2])
        ax.set(title="Residuals (holdout)", xlabel="predicted", ylabel="actual − predicted")
        result.plots.append(
            PlotInfo(
                "residuals",
                "Residuals",
                _save(fig, ctx, "residuals", it),
                f"Mean residual {resid.mean():.3g}; spread (std) {resid.std():.3g}.",
            )
        )
        sample = np.linspace(0, len(y) - 1, min(len(y), 500)).astype(int)
        result.curves = {
            "pred_vs_actual": {
                "actual": [float(v) for v in y.to_numpy()[sample]],
                "predicted": [float(v) for v in pred[sample]],
            }
        }
    else:
        classes = split.classes
        proba = model.predict_proba_features(F)
        result.holdout_metrics = metrics_from_oof(y, proba, task, classes, model.threshold, split.positive_index)
        pred = model.labels_from_proba(proba)
        frame = pd.DataFrame({"actual": y, "prediction": pred})
        for i, cls in enumerate(classes):
            frame[f"proba_{cls}"] = proba[:, i]
        ctx.data.keep_holdout_predictions(it, frame)
        labels = [str(c) for c in classes]
        cm = skm.confusion_matrix(y.astype(str), pd.Series(pred).astype(str), labels=labels)
        result.confusion = {"labels": labels, "matrix": cm.tolist()}
        fig, ax = _figure(4.8, 4.2)
        ax.imshow(cm, cmap="magma")
        ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
        ax.set_yticks(range(len(labels)), labels)
        for (i, j), v in np.ndenumerate(cm):
            ax.text(j, i, str(v), ha="center", va="center", color="white" if v < cm.max() / 2 else "black")
        ax.set(title="Confusion matrix (holdout)", xlabel="predicted", ylabel="actual")
        ax.grid(False)
        result.plots.append(
            PlotInfo(
                "confusion",
                "Confusion matrix",
                _save(fig, ctx, "confusion", it),
                f"{np.trace(cm) / max(cm.sum(), 1):.1%} of holdout rows on the diagonal.",
            )
        )
        pos = classes[split.positive_index] if len(classes) == 2 else None
        targets = [(pos, split.positive_index)] if pos is not None else list(zip(classes, range(len(classes))))[:8]
        roc, pr = {}, {}
        fig_roc, ax_roc = _figure()
        fig_pr, ax_pr = _figure()
        for k, (cls, idx) in enumerate(targets):
            y_bin = (y.to_numpy() == cls).astype(int)
            if y_bin.min() == y_bin.max():
                continue
            fpr, tpr, _ = skm.roc_curve(y_bin, proba[:, idx])
            prec, rec, _ = skm.precision_recall_curve(y_bin, proba[:, idx])
            roc[str(cls)] = dict(zip(("fpr", "tpr"), _thin(fpr, tpr)))
            pr[str(cls)] = dict(zip(("recall", "precision"), _thin(rec[::-1], prec[::-1])))
            color = PALETTE[k % len(PALETTE)]
            ax_roc.plot(fpr, tpr, color=color, lw=2, label=str(cls))
            ax_pr.plot(rec, prec, color=color, lw=2, label=str(cls))
        ax_roc.plot([0, 1], [0, 1], ls="--", color="#555d7a")
        ax_roc.set(title="ROC curve (holdout)", xlabel="false positive rate", ylabel="true positive rate")
        ax_pr.set(title="Precision–recall (holdout)", xlabel="recall", ylabel="precision")
        for ax in (ax_roc, ax_pr):
            if len(targets) > 1:
                ax.legend(fontsize=8)
        result.curves = {"roc": roc, "pr": pr}
        auc = result.holdout_metrics.get("roc_auc", float("nan"))
        result.plots.append(
            PlotInfo("roc", "ROC curve", _save(fig_roc, ctx, "roc", it), f"ROC AUC {auc:.3f} on the holdout.")
        )
        result.plots.append(
            PlotInfo(
                "pr",
                "Precision–recall curve",
                _save(fig_pr, ctx, "pr", it),
                f"Recall {result.holdout_metrics.get('recall', float('nan')):.3f} at precision "
                f"{result.holdout_metrics.get('precision', float('nan')):.3f} with the chosen threshold.",
            )
        )
    result.overfit_gap, result.overfit_risk = overfit(
        state.training.train_metrics, state.training.cv_metrics, obj.metric, obj.greater_is_better
    )
    result.summary_md = ctx.brain.evaluation_summary(state.training, result, obj)
    return result
