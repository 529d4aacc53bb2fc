"""Feature Engineer: generated `transform(df)` code, run in the sandbox on features only, kept if CV agrees.

The target never reaches the code. Its output is validated (row count, row-wise behaviour, no
infinities, no empty columns, no target reference), and the new feature set replaces the old one
only when a fixed quick model's CV score does not get worse.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.brains.base import FeatureRequest
from pipeline.ml.cv import OutOfTime, quick_rows, quick_score
from pipeline.ml.leak_notes import excluded
from pipeline.ml.metrics import is_better
from pipeline.ml.runtime import compact_floats
from pipeline.run import gates
from pipeline.run.codegen import feature_harness, target_referenced
from pipeline.run.context import PhaseContext
from pipeline.run.rundata import FeatureSet
from pipeline.state import FeatureAttempt, FeatureResult, RunState

QUICK_TOLERANCE = 0.001
QUICK_SHARE = 0.1
QUICK_MIN_SECONDS = 2.0
QUICK_FOLDS = 3


def baseline_features(state: RunState, ctx: PhaseContext) -> FeatureSet:
    """Raw features minus what the profiler flagged (IDs, constants, leakage suspects the user did not keep): the
    first 'previous' set."""
    profile = state.profile
    drop = set(profile.id_like_columns) | set(profile.constant_columns) | set(excluded(profile.leakage_suspects))
    drop |= {c.name for c in profile.columns if c.kind == "text"}
    keep = [c for c in ctx.split.X_train.columns if c not in drop]
    if not keep:
        keep = list(ctx.split.X_train.columns)
    code = f"def transform(df):\n    return df[{keep!r}].copy()\n"
    return FeatureSet(
        code=code,
        train=compact_floats(ctx.split.X_train[keep].reset_index(drop=True)),
        holdout=compact_floats(ctx.split.X_holdout[keep].reset_index(drop=True)),
        required_columns=keep,
    )


def _validator(target: str, leaks: list[str] | None = None, n_raw: int = 0):
    """`leaks`: the leakage suspects excluded from the features, which the code must neither pass through nor read
    (`n_raw` raw columns: when the harness could not tell which columns the code reads, it lists them all)."""

    def validate(workdir: Path, code: str) -> str | None:
        meta_path = workdir / "features_meta.json"
        if not meta_path.exists():
            return "the harness did not produce features (transform returned nothing usable)"
        meta = json.loads(meta_path.read_text())
        if target_referenced(code, target) or target in meta["columns"]:
            return f"the code refers to the target column {target!r}; feature code must never use the target"
        read = set(meta.get("required") or []) if len(meta.get("required") or []) < n_raw else set()
        used = [c for c in leaks or [] if c in meta["columns"] or c in read]
        if used:
            return (
                f"the code uses {', '.join(repr(c) for c in used)}, excluded as possible target leakage (the "
                "profile says why); drop them first, e.g. df = df.drop(columns=[...]), and derive nothing from "
                "them"
            )
        if not meta["columns"]:
            return "transform returned no columns"
        if not meta["rowwise"]:
            return (
                "transform is not row-wise: the first rows give different values when transformed alone, so it "
                "uses statistics of the whole table (e.g. means, ranks or frequencies over df); compute each row "
                "from that row only"
            )
        frame = pd.read_parquet(workdir / "features_train.parquet")
        # column by column: one float copy of the whole frame was 260 MB at 800k rows × 41 numeric columns
        bad = [
            c
            for c in frame.select_dtypes(include=[np.number]).columns
            if np.isinf(frame[c].to_numpy(dtype=float, na_value=np.nan)).any()
        ]
        if bad:
            return f"transform produced infinite values in column(s) {', '.join(bad[:5])}; guard divisions and logs"
        empty = [c for c in frame.columns if frame[c].isna().all()]
        if empty:
            return f"transform produced all-NaN column(s) {', '.join(empty[:5])}"
        return None

    return validate


def run(state: RunState, ctx: PhaseContext) -> FeatureResult:
    split, profile = ctx.split, state.profile
    result = FeatureResult(
        code=state.features.code, attempts=list(state.features.attempts), columns=list(state.features.columns)
    )
    sample = quick_rows(state.config.time_budget_s)
    if ctx.data.features is None:
        ctx.data.keep_features(baseline_features(state, ctx))
        started = time.monotonic()
        try:
            score, metric, seconds = quick_score(
                ctx.data.features.train,
                split.y_train,
                profile.task,
                split.classes,
                state.config.seed,
                sample,
                ctx.budget.share_deadline(QUICK_SHARE, QUICK_MIN_SECONDS),
            )
        except OutOfTime as stopped:  # a slow machine or a short budget: the raw features go to the trainer untried
            # what the whole quick CV would have cost, from the share of it done (the trainer sizes its screening on it)
            done = max(stopped.progress or 1.0 / QUICK_FOLDS, 0.01)
            ctx.data.features.quick_cost = (
                (time.monotonic() - started) / done / min(len(ctx.data.features.train), sample)
            )
            state.notes.append(
                "The quick CV of the raw features did not finish in its share of the time budget, so no "
                "feature code was tried in this run; the raw features are used."
            )
            _finish(result, ctx)
            return result
        ctx.data.features.quick_cv, ctx.data.features.quick_cost = (
            score,
            seconds / min(len(ctx.data.features.train), sample),
        )
        state.notes.append(
            f"Baseline feature set ({ctx.data.features.train.shape[1]} raw columns after dropping flagged ones): "
            f"quick CV {metric} {score:.4f}."
        )
    elif ctx.data.features.quick_cv is None:  # the baseline could not be scored in time: nothing to compare against
        _finish(result, ctx)
        return result
    previous = ctx.data.features
    feedback = state.decisions[-1].reason if state.decisions and state.decisions[-1].action == "refine_features" else ""
    request = FeatureRequest(
        profile=profile,
        objective=state.objective,
        feature_columns=list(split.X_train.columns),
        dtypes={c: str(t) for c, t in split.X_train.dtypes.items()},
        iteration=state.iteration,
        previous_code=state.features.code,
        critic_feedback=feedback,
        user_feedback=state.user_feedback.get("features", ""),
        sample_rows=_sample_rows(split.X_train),
    )
    data_dir = ctx.run_dir / "data"
    outcome = ctx.code.generate(
        "features",
        state.iteration,
        request,
        ctx.brain,
        lambda: feature_harness(["holdout_X"]),
        {"train_X.parquet": data_dir / "train_X.parquet", "holdout_X.parquet": data_dir / "holdout_X.parquet"},
        _validator(profile.target, excluded(profile.leakage_suspects), split.X_train.shape[1]),
        timeout_s=min(120.0, max(15.0, ctx.budget.remaining() * 0.25)),
    )
    attempt = FeatureAttempt(
        iteration=state.iteration,
        code=outcome.code,
        source=outcome.source,
        shape_before=[len(previous.train), previous.train.shape[1]],
        cv_before=previous.quick_cv,
    )
    if not outcome.ok:
        attempt.reason = (
            f"Generated feature code failed every attempt ({outcome.error}); the previous feature set stays."
        )
        result.attempts.append(attempt)
        _finish(result, ctx)
        return result
    ctx.check_cancelled()
    train = compact_floats(pd.read_parquet(outcome.workdir / "features_train.parquet"))
    holdout = compact_floats(pd.read_parquet(outcome.workdir / "features_holdout_X.parquet"))
    meta = json.loads((outcome.workdir / "features_meta.json").read_text())
    try:
        score, metric, seconds = quick_score(
            train,
            split.y_train,
            profile.task,
            split.classes,
            state.config.seed,
            sample,
            ctx.budget.share_deadline(QUICK_SHARE, QUICK_MIN_SECONDS),
        )
    except OutOfTime:
        attempt.reason = (
            "The quick CV of the new features did not finish in its share of the time budget; "
            "the previous feature set stays."
        )
        result.attempts.append(attempt)
        _finish(result, ctx)
        return result
    gib = metric != "log_loss" and metric != "rmse"
    attempt.cv_after = score
    attempt.shape_after = [len(train), train.shape[1]]
    attempt.new_columns = [c for c in train.columns if c not in split.X_train.columns]
    attempt.dropped_columns = [c for c in split.X_train.columns if c not in train.columns]
    not_worse = previous.quick_cv is None or not is_better(
        previous.quick_cv, score, gib, QUICK_TOLERANCE * abs(previous.quick_cv)
    )
    user_wish = bool(state.user_feedback.get("features")) and not not_worse  # the user's instructions win over CV
    approved, wish = feature_gate(
        state,
        ctx,
        outcome.code,
        outcome.source,
        previous.train,
        train,
        attempt.new_columns,
        attempt.dropped_columns,
        metric,
        previous.quick_cv,
        score,
        not_worse or user_wish,
    )
    if not approved:
        attempt.reason = (
            "Rejected at the approval gate" + (f" ({wish})" if wish else "") + "; generating the features again."
        )
        result.attempts.append(attempt)
        state.user_feedback["features"] = gates.merge_feedback(state.user_feedback.get("features", ""), wish)
        state.features = result
        ctx.check_cancelled()
        return run(state, ctx)
    if not_worse or user_wish:
        attempt.kept = True
        attempt.reason = (
            f"Kept: quick CV {metric} {score:.4f} vs {previous.quick_cv:.4f} before "
            f"({len(attempt.new_columns)} new, {len(attempt.dropped_columns)} dropped columns)."
            + (" Applied at the user's request although the score is worse." if user_wish else "")
        )
        ctx.data.keep_features(
            FeatureSet(
                code=outcome.code,
                train=train,
                holdout=holdout,
                required_columns=meta.get("required", list(split.X_train.columns)),
                quick_cv=score,
                quick_cost=seconds / min(len(train), sample),
            )
        )
        result.code = outcome.code
    else:
        attempt.reason = (
            f"Rejected: quick CV {metric} got worse ({score:.4f} vs {previous.quick_cv:.4f}); "
            "the previous feature set stays."
        )
    result.attempts.append(attempt)
    _finish(result, ctx)
    return result


def _finish(result: FeatureResult, ctx: PhaseContext) -> None:
    result.columns = list(ctx.data.features.train.columns)


def _sample_rows(X: pd.DataFrame, n: int = 5) -> list[dict]:
    head = X.head(n).astype(object).where(X.head(n).notna(), None)
    return [{k: (str(v)[:80] if v is not None else None) for k, v in row.items()} for row in head.to_dict("records")]


def feature_gate(
    state: RunState,
    ctx: PhaseContext,
    code: str,
    source: str,
    before: pd.DataFrame,
    after: pd.DataFrame,
    new_columns: list[str],
    dropped: list[str],
    metric: str,
    cv_before: float | None,
    cv_after: float | None,
    will_apply: bool,
) -> tuple[bool, str]:
    verdict = (
        "Approving **applies** this feature set."
        if will_apply
        else "The quick CV check would **not** keep it (the score got worse), so approving leaves the previous "
        "feature set in force."
    )
    leaks = excluded(state.profile.leakage_suspects)
    summary = (
        f"The generated feature code ran in the sandbox and passed validation: {before.shape[1]} → "
        f"{after.shape[1]} columns ({len(new_columns)} new, {len(dropped)} raw columns dropped). {verdict} "
        "Rejecting sends your feedback to the brain and generates the features again."
    )
    if leaks:
        summary += (
            f" **Excluded as possible target leakage:** {', '.join(f'`{c}`' for c in leaks)} (the profile "
            f'says why); reject with "keep column {leaks[0]}" to use it anyway.'
        )
    details = {
        "code": code,
        "source": source,
        "shape_before": list(before.shape),
        "shape_after": list(after.shape),
        "new_columns": new_columns,
        "dropped_columns": dropped,
        "metric": metric,
        "cv_before": cv_before,
        "cv_after": cv_after,
        "will_apply": will_apply,
        "sample_before": gates.frame_rows(before),
        "sample_after": gates.frame_rows(after),
        "leakage_excluded": leaks,
    }
    return gates.ask(state, ctx, "features", summary, details)
