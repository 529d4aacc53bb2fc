"""Human approval gates: optional checkpoints where the run pauses until someone approves or rejects.

Three gates (`GATES`): before engineered features replace the feature set, before training (the model plan),
and before finalizing (the critic's decision). A phase calls `ask`; the run's `decide` callable blocks until
an answer comes (the app's RunHandle, a terminal prompt, a decisions file). The gate is put on the RunState
(`pending_gate`) and checkpointed first, so a reloaded page finds it; the time spent waiting is taken out
of the run's budget. A rejection's feedback goes to the brain (`ctx.user_feedback`) and the phase is redone.
Headless: never imports streamlit.
"""
from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Any, Callable, TextIO

import pandas as pd

from pipeline.context import Cancelled, PhaseContext
from pipeline.state import GATES, CriticDecision, Gate, RunState

TITLES = {"features": "Apply the engineered features?", "training": "Train these candidate models?",
          "finalize": "Finalize the run?"}
GATE_PHASE = {"features": "features", "training": "trainer", "finalize": "critic"}
MAX_REJECTIONS = 5          # per gate and iteration; after that the run goes on without asking
FAMILY_WORDS: dict[str, tuple[str, ...]] = {
    "lightgbm": ("lightgbm", "lgbm", "light gbm"),
    "linear": ("linear", "logistic", "ridge"),
    "hist_gb": ("hist_gb", "histgradientboosting", "hist gradient boosting", "histogram"),
    "random_forest": ("random forest", "random_forest"),
    "extra_trees": ("extra trees", "extra_trees", "extratrees", "bagging"),
}
FAMILY_GROUPS = {"boosting": ("lightgbm", "hist_gb"), "trees": ("lightgbm", "hist_gb", "random_forest", "extra_trees"),
                 "tree": ("lightgbm", "hist_gb", "random_forest", "extra_trees")}
_NEG = r"(?:do not use|don'?t use|never use|not use|no|without|exclude|drop|skip|avoid|remove)"


def parse_gates(value: str | list[str] | None) -> list[str]:
    """`features,training` or `all` -> the gate names, in pipeline order. Raises ValueError on unknown names."""
    if not value:
        return []
    items = value if isinstance(value, list) else re.split(r"[,\s]+", value)
    names = {i.strip().lower() for i in items if i and i.strip()}
    if "all" in names:
        return list(GATES)
    unknown = sorted(names - set(GATES))
    if unknown:
        raise ValueError(f"Unknown approval gate(s) {', '.join(unknown)}; choose from {', '.join(GATES)} (or all).")
    return [g for g in GATES if g in names]


def merge_feedback(old: str, new: str) -> str:
    """Feedback accumulates over rejections (the brain sees every wish), newest last."""
    new = (new or "").strip()
    if not new or new in (old or ""):
        return old or ""
    return f"{old.strip()}\n{new}" if old and old.strip() else new


# --------------------------------------------------------------------------- asking

def ask(state: RunState, ctx: PhaseContext, name: str, summary: str, details: dict[str, Any]) -> tuple[bool, str]:
    """Pause at gate `name` if it is switched on; returns (approved, feedback). Raises Cancelled on Stop."""
    if name not in (state.config.gates or []):
        return True, ""
    same = [g for g in state.gate_log if g.name == name and g.iteration == state.iteration]
    rejected = 0
    for g in reversed(same):
        if g.status != "rejected":
            break
        rejected += 1
    if rejected >= MAX_REJECTIONS:
        state.notes.append(f"The {name} gate was rejected {rejected} times in iteration {state.iteration}; "
                           "going on without asking again.")
        return True, ""
    gate = Gate(id=f"{name}-it{state.iteration}-{len(same) + 1}", name=name, iteration=state.iteration,
                title=TITLES[name], summary=summary, details=_plain(details))
    state.pending_gate = gate
    ctx.emit("gate", GATE_PHASE[name], f"Waiting for approval: {gate.title}")
    ctx.publish()                      # checkpointed to run.json: a reloaded page finds the gate
    t0 = time.monotonic()
    try:
        if ctx.decide is None:
            approve, feedback, by = True, "", "auto"
        else:
            approve, feedback, by = ctx.decide(gate)
    except BaseException:
        state.pending_gate = None
        raise
    finally:
        waited = time.monotonic() - t0
        ctx.budget.exclude(waited)     # waiting for a human does not spend the time budget
        if hasattr(ctx.brain, "set_deadline"):
            ctx.brain.set_deadline(ctx.budget.deadline)
    gate.status = "approved" if approve else "rejected"
    gate.feedback, gate.decided_by = (feedback or "").strip(), by
    gate.decided_at, gate.waited_s = time.time(), round(waited, 3)
    state.pending_gate = None
    state.gate_log.append(gate)
    message = f"{gate.title} {gate.status} ({by})" + (f": {gate.feedback}" if gate.feedback else "")
    ctx.emit("gate", GATE_PHASE[name], message)
    if not approve and gate.feedback:
        for note in (apply_objective_feedback(state, gate.feedback), apply_keep_feedback(state, gate.feedback)):
            if note:
                state.notes.append(note)
                ctx.emit("note", GATE_PHASE[name], note)
    ctx.publish()
    return approve, gate.feedback


def _plain(value: Any) -> Any:
    """JSON-safe copy (numpy scalars, tuples) so the gate checkpoints cleanly."""
    return json.loads(json.dumps(value, default=str))


# --------------------------------------------------------------------------- understanding feedback

def apply_objective_feedback(state: RunState, feedback: str) -> str:
    """'optimise recall' / 'optimize precision' / 'optimise roc auc': switch the run's metric in place."""
    from pipeline.objective import METRICS, finalise_objective, parse_objective
    from pipeline.state import Objective

    m = re.search(r"\b(?:optimi[sz]e|maximi[sz]e|minimi[sz]e|prioriti[sz]e|focus on)\s+(?:for\s+|on\s+|the\s+)?(.+)",
                  feedback.lower())
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
    if task not in METRICS.get(parsed.metric, (True, ()))[1]:
        return f"Feedback asked to optimise {words.strip()}, which does not apply to a {task} task; the metric stays."
    new = finalise_objective(parsed, task)
    obj = state.objective
    if new.metric == obj.metric:
        return ""
    old = obj.metric
    obj.metric, obj.greater_is_better, obj.tune_threshold = new.metric, new.greater_is_better, new.tune_threshold
    obj.explanation = new.explanation or f"Optimising {new.metric}, as the user asked at an approval gate."
    for summary in state.iterations:        # earlier iterations are compared on the new metric too
        summary.cv_score = summary.cv_metrics.get(new.metric)
    return f"Objective switched from {old} to {new.metric} at the user's request."


def apply_keep_feedback(state: RunState, feedback: str) -> str:
    """'keep column x' for a column excluded as possible target leakage: keep it from the next feature set on
    (the profile's suspect is marked kept, and the run's keep_columns lists it)."""
    from pipeline.leakage import excluded, kept_in_feedback, leakage_note, leakage_summary

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
        prof.findings_md = prof.leakage_note + prof.findings_md[len(old_note):]
    prof.summary = prof.summary.replace(old_said, leakage_summary(prof.leakage_suspects))
    return (f"Kept at the user's request although flagged as possible target leakage: {', '.join(named)}; the "
            "features from now on may use it, and predictions will need it.")


def excluded_families(feedback: str) -> set[str]:
    """Families the feedback rules out: 'do not use lightgbm', 'no trees', 'only linear'."""
    from pipeline.models import FAMILIES

    text = (feedback or "").lower()
    out: set[str] = set()
    named = {fam: [w for w in words] for fam, words in FAMILY_WORDS.items()}
    only = re.findall(r"\b(?:only|just|solely)\s+(?:use\s+)?(?:a\s+|the\s+)?([\w -]+)", text)
    for phrase in only:
        keep = {fam for fam, words in named.items() if any(w in phrase for w in words)}
        keep |= {f for g, fams in FAMILY_GROUPS.items() if re.search(rf"\b{g}", phrase) for f in fams}
        if keep:
            out |= set(FAMILIES) - keep
    for fam, words in named.items():
        if any(re.search(rf"{_NEG}\s+(?:the\s+|any\s+)?{re.escape(w)}", text) for w in words):
            out.add(fam)
    for group, fams in FAMILY_GROUPS.items():
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
    return (ModelPlan(kept, plan.class_weight, plan.reasoning + f" Left out at the user's request: {', '.join(sorted(banned))}."),
            "")


# --------------------------------------------------------------------------- the three gates

def waited_at(state: RunState, name: str, since: float, iteration: int | None = None) -> float:
    """Seconds spent waiting at gate `name` (this iteration) since `since` (time.monotonic)."""
    wall = time.time() - (time.monotonic() - since)
    it = state.iteration if iteration is None else iteration
    return sum(g.waited_s for g in state.gate_log if g.name == name and g.iteration == it and (g.decided_at or 0) >= wall)


def frame_rows(frame: pd.DataFrame, n: int = 5) -> list[dict[str, Any]]:
    head = frame.head(n)
    return [{str(k): (None if pd.isna(v) else (v if isinstance(v, (int, float, bool)) else str(v)[:60]))
             for k, v in row.items()} for row in head.astype(object).to_dict("records")]


def feature_gate(state: RunState, ctx: PhaseContext, code: str, source: str, before: pd.DataFrame,
                 after: pd.DataFrame, new_columns: list[str], dropped: list[str], metric: str,
                 cv_before: float | None, cv_after: float | None, will_apply: bool) -> tuple[bool, str]:
    verdict = ("Approving **applies** this feature set." if will_apply else
               "The quick CV check would **not** keep it (the score got worse), so approving leaves the previous "
               "feature set in force.")
    from pipeline.leakage import excluded

    leaks = excluded(state.profile.leakage_suspects)
    summary = (f"The generated feature code ran in the sandbox and passed validation: {before.shape[1]} → "
               f"{after.shape[1]} columns ({len(new_columns)} new, {len(dropped)} raw columns dropped). {verdict} "
               "Rejecting sends your feedback to the brain and generates the features again.")
    if leaks:
        summary += (f" **Excluded as possible target leakage:** {', '.join(f'`{c}`' for c in leaks)} (the profile "
                    f"says why); reject with \"keep column {leaks[0]}\" to use it anyway.")
    details = {"code": code, "source": source, "shape_before": list(before.shape), "shape_after": list(after.shape),
               "new_columns": new_columns, "dropped_columns": dropped, "metric": metric,
               "cv_before": cv_before, "cv_after": cv_after, "will_apply": will_apply,
               "sample_before": frame_rows(before), "sample_after": frame_rows(after), "leakage_excluded": leaks}
    return ask(state, ctx, "features", summary, details)


def review_plan(state: RunState, ctx: PhaseContext, request: Any, plan: Any) -> tuple[Any, float]:
    """The training gate; also keeps the user's family wishes ('do not use lightgbm') on every loop.
    Returns the plan and the seconds spent waiting at the gate."""
    from pipeline.phases.trainer import ask_plan

    t0 = time.monotonic()

    plan, note = filter_plan(plan, ctx.user_feedback.get("training", ""))
    if note and note not in state.notes:
        state.notes.append(note)
    while True:
        cands = [{"name": c.name, "family": c.family, "params": c.params, "search_space": c.search_space}
                 for c in plan.candidates]
        summary = (f"{len(cands)} candidate families will be screened by {state.config.cv_folds}-fold CV on "
                   f"**{state.objective.metric}**; the best is tuned with Optuna in its search space. "
                   f"{plan.reasoning} Rejecting sends your feedback (e.g. \"do not use lightgbm\", \"only linear\", "
                   "\"optimise recall\") to the brain and plans again.")
        approved, feedback = ask(state, ctx, "training", summary,
                                 {"candidates": cands, "class_weight": plan.class_weight, "reasoning": plan.reasoning,
                                  "metric": state.objective.metric})
        if approved:
            return plan, waited_at(state, "training", t0)
        ctx.check_cancelled()
        if feedback:
            ctx.user_feedback["training"] = merge_feedback(ctx.user_feedback.get("training", ""), feedback)
            request.user_feedback = ctx.user_feedback["training"]
        plan = ask_plan(state, ctx, request)
        plan, note = filter_plan(plan, ctx.user_feedback.get("training", ""))
        if note:
            state.notes.append(note)


def review_decision(state: RunState, ctx: PhaseContext, decision: CriticDecision) -> CriticDecision:
    """The finalize gate: a rejection sends the work back (refine features or retrain), within max_loops."""
    if decision.action != "finalize" or "finalize" not in (state.config.gates or []):
        return decision
    loops_done = state.iteration - 1
    bound = loops_done >= state.config.max_loops
    cv = [{"iteration": s.iteration, "model": s.model, "cv_score": s.cv_score} for s in state.iterations]
    summary = (f"The critic proposes to **finalize**: {decision.reason} Approving keeps the best iteration by CV "
               "and writes the report, model and export. "
               + ("The loop bound is reached, so a rejection cannot send the work back." if bound else
                  "Rejecting with feedback such as \"refine features\", \"drop column X\" or \"retrain\" / "
                  "\"optimise recall\" sends the work back for another loop."))
    approved, feedback = ask(state, ctx, "finalize", summary,
                             {"action": decision.action, "reason": decision.reason, "source": decision.source,
                              "iteration": state.iteration, "max_loops": state.config.max_loops,
                              "cv_history": cv, "metric": state.objective.metric})
    if approved:
        return decision
    if bound:
        note = f"Finalizing was rejected, but the loop bound ({state.config.max_loops} loop(s)) is reached; finalizing."
        state.notes.append(note)
        decision.reason += " (Rejected by the user, but the loop bound is reached.)"
        return decision
    text = feedback.lower()
    if re.search(r"feature|column|drop|remove|exclude|do not use|don'?t use", text) and not excluded_families(text):
        action = "refine_features"
    elif re.search(r"retrain|re-train|train again|model|tune|regulari|optimi[sz]e|maximi[sz]e|minimi[sz]e", text) \
            or excluded_families(text):
        action = "retrain_model"
    else:
        action = "refine_features"
    key = "features" if action == "refine_features" else "training"
    if feedback:
        ctx.user_feedback[key] = merge_feedback(ctx.user_feedback.get(key, ""), feedback)
    return CriticDecision(decision.iteration, action,
                          "The user rejected finalizing" + (f": {feedback}" if feedback else "") +
                          (" — refining the features." if action == "refine_features" else " — retraining the model."),
                          "user")


# --------------------------------------------------------------------------- the CLI's deciders

def load_decisions(path: str | Path) -> dict[str, dict[str, Any]]:
    """`--decisions FILE`: {"features": {"approve": false, "feedback": "drop column x"}, ...}. Raises ValueError."""
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise ValueError(f"Cannot read the decisions file {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"The decisions file {path} is not valid JSON ({exc.msg}, line {exc.lineno}).") from None
    if not isinstance(data, dict):
        raise ValueError("The decisions file must hold a JSON object: gate name -> {\"approve\": ..., \"feedback\": ...}.")
    out = {}
    for name, entry in data.items():
        if name not in GATES:
            raise ValueError(f"Unknown gate {name!r} in the decisions file; gates are {', '.join(GATES)}.")
        if isinstance(entry, bool):
            entry = {"approve": entry}
        if not isinstance(entry, dict) or not isinstance(entry.get("approve", True), bool):
            raise ValueError(f"Decision for {name!r} must be an object like {{\"approve\": false, \"feedback\": \"...\"}}.")
        out[name] = {"approve": entry.get("approve", True), "feedback": str(entry.get("feedback") or "")}
    return out


def gate_text(gate: Gate) -> str:
    """A gate as plain text for a terminal."""
    d = gate.details
    lines = [f"=== Approval gate: {gate.title} (iteration {gate.iteration}) ===", re.sub(r"\*\*", "", gate.summary)]
    if gate.name == "features":
        lines += [f"shape {d.get('shape_before')} -> {d.get('shape_after')}",
                  f"new columns: {', '.join(d.get('new_columns') or []) or '-'}",
                  f"dropped columns: {', '.join(d.get('dropped_columns') or []) or '-'}",
                  f"quick CV {d.get('metric')}: {d.get('cv_before')} -> {d.get('cv_after')}",
                  "--- code ---", (d.get("code") or "").rstrip(), "--- first rows after ---"]
        lines += [json.dumps(r)[:300] for r in (d.get("sample_after") or [])[:3]]
    elif gate.name == "training":
        for c in d.get("candidates") or []:
            lines.append(f"- {c['name']} ({c['family']}): params {json.dumps(c['params'])}; "
                         f"search space {json.dumps(c['search_space'])}")
    else:
        lines.append(f"critic: {d.get('action')} — {d.get('reason')}")
    return "\n".join(lines)


class CliDecider:
    """Answers gates for `python -m pipeline run`: a decisions file, else the terminal, else approve."""

    def __init__(self, decisions: dict[str, dict[str, Any]] | None, interactive: bool,
                 stream: TextIO | None = None, read: Callable[[str], str] | None = None) -> None:
        self.decisions = dict(decisions) if decisions is not None else None
        self.interactive = interactive
        self.stream = stream or sys.stderr
        self.read = read or input

    def __call__(self, gate: Gate) -> tuple[bool, str, str]:
        if self.decisions is not None:
            entry = self.decisions.pop(gate.name, None)   # a file's decision applies once, then approve
            if entry is None:
                return True, "", "decisions file"
            return bool(entry["approve"]), entry["feedback"], "decisions file"
        if not self.interactive:
            return True, "", "auto"
        self.stream.write("\n" + gate_text(gate) + "\n")
        self.stream.flush()
        try:
            answer = self.read("Approve? [Y/n] ").strip().lower()
            if answer in ("", "y", "yes"):
                return True, "", "user"
            feedback = self.read("Feedback for the brain (e.g. 'drop column X', 'optimise recall'): ").strip()
        except EOFError:
            return True, "", "auto"
        except KeyboardInterrupt:
            raise Cancelled() from None
        return False, feedback, "user"
