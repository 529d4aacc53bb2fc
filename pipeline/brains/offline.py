"""The offline brain: deterministic rules that need no key and no network.

It writes real code (a `transform(df)` and a `make_plots(...)`) that goes through the same sandbox
gate as model-written code, and makes every decision from the profile and the CV history.
"""

from __future__ import annotations

import re
from typing import Any

from pipeline.brains.base import (
    CandidateSpec,
    CodeFailure,
    CriticRequest,
    FeatureRequest,
    ModelPlan,
    ModelRequest,
    PlotRequest,
)
from pipeline.ml.families import FAMILIES, OFFLINE_PLAN
from pipeline.ml.leak_notes import excluded, kept_in_feedback
from pipeline.ml.metrics import METRICS
from pipeline.ml.objective import parse_objective, wants_class_weights
from pipeline.state import CriticDecision, EvalResult, Objective, ProfileResult, TrainResult

OVERFIT_GAP = 0.05  # train-vs-CV gap (relative) that calls for stronger regularisation
MIN_GAIN = 0.002  # relative CV gain a loop must bring to justify another one


def _numeric_columns(profile: ProfileResult, available: set[str]) -> list[str]:
    cols = [c for c in profile.columns if c.kind == "numeric" and c.name in available]
    cols.sort(key=lambda c: -(abs(c.target_association) if c.target_association is not None else 0.0))
    return [c.name for c in cols]


def _feedback_columns(text: str, columns: list[str]) -> list[str]:
    """Columns a user asked to drop or not use ("drop column X", "do not use Y")."""
    wanted = []
    lowered = text.lower()
    for col in columns:
        pattern = rf"(drop|remove|exclude|do not use|don't use|without|ignore)\s+(the\s+)?(column\s+)?[`'\"]?{re.escape(col.lower())}\b"
        if re.search(pattern, lowered):
            wanted.append(col)
    return wanted


class OfflineBrain:
    """Rule-based Brain; see `pipeline.brains.base.Brain` for the contract."""

    name = "offline"
    model = None
    repair_attempts = 0
    unavailable_reason = ""
    fallback = None

    def set_deadline(self, deadline: float | None) -> None:
        """Rules take no time worth bounding."""

    def read_objective(self, text: str, columns: list[str]) -> Objective:
        return parse_objective(text, columns)

    def profile_summary(self, profile: ProfileResult, objective: Objective) -> str:
        lines = [
            f"- **{profile.n_rows:,} rows × {profile.n_cols} columns**; target **`{profile.target}`**, "
            f"task **{profile.task}**, optimising **{objective.metric}**."
        ]
        if profile.class_balance:
            total = sum(profile.class_balance.values()) or 1
            parts = ", ".join(f"`{k}` {v / total:.0%}" for k, v in list(profile.class_balance.items())[:6])
            minority = min(profile.class_balance.values()) / total
            lines.append(
                f"- Class balance: {parts}"
                + (" — **imbalanced**, classes will be weighted." if minority < 0.2 else ".")
            )
        missing = [c for c in profile.columns if c.missing_pct >= 5]
        if missing:
            worst = sorted(missing, key=lambda c: -c.missing_pct)[:5]
            lines.append("- Missing values in " + ", ".join(f"`{c.name}` ({c.missing_pct:.0f}%)" for c in worst) + ".")
        else:
            lines.append("- No column has more than 5% missing values.")
        if profile.duplicates:
            lines.append(f"- {profile.duplicates:,} duplicate rows.")
        if profile.constant_columns:
            lines.append("- Constant columns (dropped): " + ", ".join(f"`{c}`" for c in profile.constant_columns) + ".")
        if profile.id_like_columns:
            lines.append("- ID-like columns (dropped): " + ", ".join(f"`{c}`" for c in profile.id_like_columns) + ".")
        if profile.date_columns:
            lines.append(
                "- Date columns (expanded into parts): " + ", ".join(f"`{c}`" for c in profile.date_columns) + "."
            )
        if profile.text_columns:
            lines.append(
                "- Free-text columns (length features): " + ", ".join(f"`{c}`" for c in profile.text_columns) + "."
            )
        # leakage suspects: the profiler puts its warning (pipeline.ml.leak_notes.leakage_note) above these findings
        out = set(excluded(profile.leakage_suspects))
        top = [c for c in profile.columns if c.target_association is not None and c.name not in out]
        top.sort(key=lambda c: -abs(c.target_association or 0))
        if top:
            lines.append(
                "- Strongest single predictors: "
                + ", ".join(f"`{c.name}` ({c.target_association:.2f})" for c in top[:4])
                + "."
            )
        if profile.sample_note:
            lines.append(f"- {profile.sample_note}")
        return "\n".join(lines)

    # --- code -----------------------------------------------------------------------------
    def feature_code(self, request: FeatureRequest) -> str:
        profile = request.profile
        available = set(request.feature_columns)
        drop = [c for c in profile.constant_columns + profile.id_like_columns if c in available]
        drop += [c for c in excluded(profile.leakage_suspects) if c in available]
        kept = set(kept_in_feedback(request.user_feedback, request.feature_columns))
        drop += [c for c in _feedback_columns(request.user_feedback, request.feature_columns) if c not in kept]
        drop = sorted(set(drop))
        dates = [c for c in profile.date_columns if c in available and c not in drop]
        texts = [c for c in profile.text_columns if c in available and c not in drop]
        numeric = [c for c in _numeric_columns(profile, available) if c not in drop]
        skewed = [
            c.name
            for c in profile.columns
            if c.name in numeric and c.stats.get("skew", 0) > 2 and c.stats.get("min", -1) >= 0
        ][:10]
        heavy_missing = [
            c.name for c in profile.columns if c.name in available and c.name not in drop and 5 <= c.missing_pct < 95
        ][:20]
        refine = max(0, request.iteration - 1) if request.critic_feedback or request.iteration > 1 else 0
        top = numeric[: 4 if refine < 2 else 6]
        pairs = [(a, b) for i, a in enumerate(top) for b in top[i + 1 :]] if refine else []
        squares = top[:4] if refine >= 2 else []
        doc = "Offline brain, iteration {}: {}".format(
            request.iteration,
            "basic cleaning and expansions"
            if not refine
            else f"adds interactions between the {len(top)} strongest numeric features",
        )
        return f'''"""{doc}."""
import numpy as np
import pandas as pd

DROP = {drop!r}
DATES = {dates!r}
TEXTS = {texts!r}
SKEWED = {skewed!r}
MISSING_FLAGS = {heavy_missing!r}
PAIRS = {pairs!r}
SQUARES = {squares!r}


def transform(df):
    out = df.copy()
    for col in MISSING_FLAGS:
        out[col + "__missing"] = out[col].isna().astype("int8")
    out = out.drop(columns=[c for c in DROP if c in out.columns])
    for col in DATES:
        when = pd.to_datetime(out[col], errors="coerce", format="mixed")
        out[col + "__year"] = when.dt.year
        out[col + "__month"] = when.dt.month
        out[col + "__dayofweek"] = when.dt.day_of_week
        out[col + "__dayofyear"] = when.dt.day_of_year
        out = out.drop(columns=[col])
    for col in TEXTS:
        text = out[col].fillna("").astype(str)
        out[col + "__chars"] = text.str.len()
        out[col + "__words"] = text.str.split().str.len()
        out = out.drop(columns=[col])
    for col in SKEWED:
        out[col + "__log1p"] = np.log1p(out[col].clip(lower=0))
    for a, b in PAIRS:
        x = out[a].astype(float)
        y = out[b].astype(float)
        out[a + "__x__" + b] = x * y
        out[a + "__minus__" + b] = x - y
        out[a + "__per__" + b] = x / y.where(y.abs() > 1e-9)
    for col in SQUARES:
        out[col + "__sq"] = out[col].astype(float) ** 2
    return out
'''

    def plot_code(self, request: PlotRequest) -> str:
        top = request.new_features or request.top_features
        return PLOT_TEMPLATE.replace("__TOP__", repr(top[:6])).replace("__ONLY_NEW__", repr(bool(request.new_features)))

    def repair_code(self, failure: CodeFailure, request: Any) -> str | None:
        return None

    # --- decisions ----------------------------------------------------------------------------
    def model_plan(self, request: ModelRequest) -> ModelPlan:
        profile, reg = request.profile, (request.previous.regularisation if request.previous else 0)
        strength = 1 + reg
        candidates = [
            CandidateSpec(
                FAMILIES[name].title,
                name,
                FAMILIES[name].start(profile.task, strength, reg),
                FAMILIES[name].space(profile.task, strength),
            )
            for name in OFFLINE_PLAN
            if FAMILIES[name].max_rows is None or request.n_rows <= FAMILIES[name].max_rows
        ]
        reasoning = (
            f"{len(candidates)} families ({', '.join(c.name for c in candidates)}) screened by CV; "
            "the best is tuned with Optuna."
        )
        if reg:
            reasoning += f" Regularisation raised to level {reg} because the critic saw overfitting."
        return ModelPlan(
            candidates=candidates,
            class_weight="balanced" if wants_class_weights(request.objective.metric, profile.class_balance) else None,
            reasoning=reasoning,
        )

    def evaluation_summary(self, training: TrainResult, evaluation: EvalResult, objective: Objective) -> str:
        metric = objective.metric
        cv = training.cv_metrics.get(metric)
        hold = evaluation.holdout_metrics.get(metric)
        lines = [
            f"**{training.best}** scores **{metric} = {hold:.4f}** on the locked holdout"
            + (f" (CV {cv:.4f})." if cv is not None else ".")
            if hold is not None
            else f"**{training.best}** was evaluated on the locked holdout."
        ]
        others = [f"{k} {v:.3f}" for k, v in evaluation.holdout_metrics.items() if k != metric][:6]
        if others:
            lines.append("Other holdout metrics: " + ", ".join(others) + ".")
        if evaluation.overfit_risk:
            lines.append(
                f"Overfitting risk: **{evaluation.overfit_risk}** (train vs CV gap {evaluation.overfit_gap:.1%})."
            )
        if training.threshold is not None:
            lines.append(f"Decision threshold tuned by CV to {training.threshold:.3f} for {metric}.")
        return "\n\n".join(lines)

    def critic_decision(self, request: CriticRequest) -> CriticDecision:
        it, gib = request.iteration, request.objective.greater_is_better
        history = [s for s in request.cv_history if s is not None]
        current = request.training.cv_score
        loops_done = it - 1
        if loops_done >= request.max_loops:
            return CriticDecision(
                it, "finalize", f"Loop bound reached ({request.max_loops} loops); keeping the best iteration by CV."
            )
        if len(history) >= 2:
            prev_best = max(history[:-1]) if gib else min(history[:-1])
            gain = (history[-1] - prev_best) * (1 if gib else -1)
            if gain <= MIN_GAIN * max(abs(prev_best), 1e-9):
                return CriticDecision(
                    it,
                    "finalize",
                    f"The last loop did not improve CV {request.objective.metric} by at least "
                    f"{MIN_GAIN:.1%} ({history[-1]:.4f} vs best {prev_best:.4f} before); finalizing.",
                )
        gap = request.evaluation.overfit_gap
        if gap is not None and gap > OVERFIT_GAP and request.training.regularisation < 2:
            return CriticDecision(
                it,
                "retrain_model",
                f"Training score exceeds CV by {gap:.1%}: overfitting. Retraining with stronger regularisation.",
            )
        tried_features = sum(1 for f in request.feature_history if f.get("kept") is not None)
        if current is not None and tried_features < 3 and _room_to_grow(request):
            return CriticDecision(
                it,
                "refine_features",
                f"CV {request.objective.metric} = {current:.4f} leaves room to grow; "
                "trying interaction features between the strongest predictors.",
            )
        return CriticDecision(
            it, "finalize", f"CV {request.objective.metric} = {current:.4f} with no overfitting signal; finalizing."
        )

    def usage(self) -> dict[str, Any]:
        return {}


def _room_to_grow(request: CriticRequest) -> bool:
    """Whether a score is far enough from its ceiling for feature work to be worth a loop."""
    score = request.training.cv_score
    metric = request.objective.metric
    if score is None:
        return False
    if metric in METRICS and not METRICS[metric].greater_is_better:  # a loss has no ceiling to be near
        return True
    return score < 0.97


PLOT_TEMPLATE = '''"""Offline brain: the standard EDA set, drawn on a sample."""
import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
import seaborn as sns

TOP = __TOP__
ONLY_NEW = __ONLY_NEW__  # a later loop: only the features it added are drawn; the earlier plots stay
PREFIX = "new_features_" if ONLY_NEW else ""


def make_plots(df, target, task):
    plots = []
    numeric = [c for c in TOP if c in df.columns and pd.api.types.is_numeric_dtype(df[c])]
    if not ONLY_NEW:
        fig, ax = plt.subplots(figsize=(7, 4))
        if task == "regression":
            sns.histplot(df[target].dropna(), kde=True, ax=ax)
            ax.set_title(f"Target distribution: {target}")
            insight = f"Median {df[target].median():.3g}, skew {df[target].skew():.2f}."
        else:
            counts = df[target].astype(str).value_counts()
            sns.barplot(x=list(counts.index), y=counts.to_numpy(), ax=ax, hue=list(counts.index), legend=False)
            ax.set_title(f"Class counts: {target}")
            ax.set_ylabel("rows")
            insight = f"Most common class {counts.index[0]} ({counts.iloc[0] / counts.sum():.0%} of rows)."
        plots.append(("target", fig, insight))

    if numeric:
        cols = numeric[:6]
        ncols = min(3, len(cols))
        nrows = int(np.ceil(len(cols) / ncols))
        fig, axes = plt.subplots(nrows, ncols, figsize=(4 * ncols, 3 * nrows), squeeze=False)
        for ax, col in zip(axes.ravel(), cols):
            sns.histplot(df[col].dropna(), kde=True, ax=ax)
            ax.set_title(col)
        for ax in axes.ravel()[len(cols):]:
            ax.set_visible(False)
        fig.tight_layout()
        skews = {c: float(df[c].skew()) for c in cols}
        worst = max(skews, key=lambda c: abs(skews[c]) if skews[c] == skews[c] else 0.0)
        plots.append((PREFIX + "histograms", fig, f"Most skewed of the top features: {worst} (skew {skews[worst]:.2f})."))

    if not ONLY_NEW:
        corr_cols = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c]) and df[c].nunique() > 1][:15]
        if len(corr_cols) >= 2:
            corr = df[corr_cols].corr()
            fig, ax = plt.subplots(figsize=(7, 6))
            sns.heatmap(corr, cmap="vlag", center=0, ax=ax, square=True, cbar_kws={"shrink": 0.7})
            ax.set_title("Correlation heatmap")
            values = np.nan_to_num(np.abs(np.triu(corr.to_numpy(), 1)))
            i, j = np.unravel_index(np.argmax(values), values.shape)
            if values[i, j] > 0:
                insight = f"Strongest pair: {corr.index[i]} and {corr.columns[j]} (r = {corr.iloc[i, j]:.2f})."
            else:
                insight = "No correlated pairs."
            plots.append(("correlations", fig, insight))

    if numeric:
        cols = numeric[:4]
        fig, axes = plt.subplots(1, len(cols), figsize=(4 * len(cols), 3.6), squeeze=False)
        for ax, col in zip(axes.ravel(), cols):
            if task == "regression":
                sns.scatterplot(x=df[col], y=df[target], ax=ax, s=10, alpha=0.5)
            else:
                sns.violinplot(x=df[target].astype(str), y=df[col], ax=ax, cut=0, inner="quartile")
            ax.set_title(col)
        fig.tight_layout()
        kind = "against the target" if task == "regression" else "by class"
        plots.append((PREFIX + "by_target", fig, f"The strongest features {kind}; look for separation."))

    if len(numeric) >= 2 and not ONLY_NEW:
        cols = numeric[:4]
        sample = df.sample(min(len(df), 500), random_state=0)
        frame = sample[cols].copy()
        hue = None
        if task != "regression":
            frame["class"] = sample[target].astype(str).to_numpy()
            hue = "class"
        grid = sns.pairplot(frame, hue=hue, corner=True, plot_kws={"s": 8, "alpha": 0.6}, height=1.9)
        plots.append(("scatter_matrix", grid.figure, f"Pairwise view of the top features on {len(sample)} sampled rows."))
    return plots
'''
