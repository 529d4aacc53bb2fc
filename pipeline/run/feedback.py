"""What a user's plain-English feedback at a gate asks for: another metric, a column kept, families ruled out,
features or models to redo."""

from __future__ import annotations

import re
from typing import Any

from pipeline.ml.families import FAMILIES, GROUPS
from pipeline.state import RunState

_NEG = r"(?:do not use|don'?t use|never use|not use|no|without|exclude|drop|skip|avoid|remove)"


def apply_objective_feedback(state: RunState, feedback: str) -> str:
    """'optimise recall' / 'optimize precision' / 'optimise roc auc': switch the run's metric in place."""
    from pipeline.ml.metrics import METRICS, applies_to
    from pipeline.ml.objective import finalise_objective, parse_objective
    from pipeline.state import Objective

    m = re.search(
        r"\b(?:optimi[sz]e|maximi[sz]e|minimi[sz]e|prioriti[sz]e|focus on)\s+(?:for\s+|on\s+|the\s+)?(.+)",
        feedback.lower(),
    )
    if not m:
        return ""
    words = m.group(1).split("\n")[0]
    task = state.profile.task
    direct = re.sub(r"[\s-]+", "_", words.strip(" .;!")).replace("auc_roc", "roc_auc")
    parsed = Objective(metric=direct) if direct in METRICS else parse_objective(words, [])
    if not parsed.metric:
        return ""
    if parsed.metric == "f1" and task == "multiclass":
        parsed.metric = "f1_macro"
    if not applies_to(parsed.metric, task):
        return f"Feedback asked to optimise {words.strip()}, which does not apply to a {task} task; the metric stays."
    new = finalise_objective(parsed, task)
    obj = state.objective
    if new.metric == obj.metric:
        return ""
    old = obj.metric
    obj.metric, obj.greater_is_better, obj.tune_threshold = new.metric, new.greater_is_better, new.tune_threshold
    obj.explanation = new.explanation or f"Optimising {new.metric}, as the user asked at an approval gate."
    for summary in state.iterations:  # earlier iterations are compared on the new metric too
        summary.cv_score = summary.cv_metrics.get(new.metric)
    return f"Objective switched from {old} to {new.metric} at the user's request."


def apply_keep_feedback(state: RunState, feedback: str) -> str:
    """'keep column x' for a column excluded as possible target leakage: keep it from the next feature set on
    (the profile's suspect is marked kept, and the run's keep_columns lists it)."""
    from pipeline.ml.leak_notes import excluded, kept_in_feedback, leakage_note, leakage_summary

    prof = state.profile
    named = kept_in_feedback(feedback, excluded(prof.leakage_suspects))
    if not named:
        return ""
    old_note, old_said = prof.leakage_note, leakage_summary(prof.leakage_suspects)
    for suspect in prof.leakage_suspects:
        if suspect["column"] in named:
            suspect["kept"] = True
    state.config.keep_columns = list(dict.fromkeys(list(state.config.keep_columns or []) + named))
    prof.leakage_note = leakage_note(prof.leakage_suspects)
    if old_note and prof.findings_md.startswith(old_note):
        prof.findings_md = prof.leakage_note + prof.findings_md[len(old_note) :]
    prof.summary = prof.summary.replace(old_said, leakage_summary(prof.leakage_suspects))
    return (
        f"Kept at the user's request although flagged as possible target leakage: {', '.join(named)}; the "
        "features from now on may use it, and predictions will need it."
    )


def excluded_families(feedback: str) -> set[str]:
    """Families the feedback rules out: 'do not use lightgbm', 'no trees', 'only linear'."""
    text = (feedback or "").lower()
    out: set[str] = set()
    named = {name: family.words for name, family in FAMILIES.items()}
    only = re.findall(r"\b(?:only|just|solely)\s+(?:use\s+)?(?:a\s+|the\s+)?([\w -]+)", text)
    for phrase in only:
        keep = {fam for fam, words in named.items() if any(w in phrase for w in words)}
        keep |= {f for g, fams in GROUPS.items() if re.search(rf"\b{g}", phrase) for f in fams}
        if keep:
            out |= set(FAMILIES) - keep
    for fam, words in named.items():
        if any(re.search(rf"{_NEG}\s+(?:the\s+|any\s+)?{re.escape(w)}", text) for w in words):
            out.add(fam)
    for group, fams in GROUPS.items():
        if re.search(rf"{_NEG}\s+(?:the\s+|any\s+)?{group}", text):
            out |= set(fams)
    return out


def filter_plan(plan: Any, feedback: str) -> tuple[Any, str]:
    """The plan without the families the user ruled out (never empty: then the plan stays, with a note)."""
    from pipeline.brains.base import ModelPlan

    banned = excluded_families(feedback)
    if not banned:
        return plan, ""
    kept = [c for c in plan.candidates if c.family not in banned]
    if not kept:
        return plan, "The feedback ruled out every candidate family; the plan stays as it was."
    if len(kept) == len(plan.candidates):
        return plan, ""
    return (
        ModelPlan(
            kept, plan.class_weight, plan.reasoning + f" Left out at the user's request: {', '.join(sorted(banned))}."
        ),
        "",
    )


def feedback_route(feedback: str) -> str:
    """Where a rejected finalize sends the work: `refine_features` for words about columns and features,
    `retrain_model` for words about models, tuning or the metric (or a family ruled out)."""
    text = feedback.lower()
    if re.search(r"feature|column|drop|remove|exclude|do not use|don'?t use", text) and not excluded_families(text):
        return "refine_features"
    if re.search(
        r"retrain|re-train|train again|model|tune|regulari|optimi[sz]e|maximi[sz]e|minimi[sz]e", text
    ) or excluded_families(text):
        return "retrain_model"
    return "refine_features"
