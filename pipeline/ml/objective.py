"""Rules that read a plain-English objective into one of the metrics `pipeline.ml.metrics` knows."""

from __future__ import annotations

import re

from pipeline.ml.metrics import CLASS_WEIGHT_METRICS, DEFAULT_METRIC, METRICS, THRESHOLD_METRICS, applies_to
from pipeline.state import Objective


def wants_class_weights(metric: str, class_balance: dict[str, int]) -> bool:
    """Whether to fit with balanced class weights: an imbalanced table (smallest class under a fifth of the rows)
    scored by a metric that counts every class equally."""
    if metric not in CLASS_WEIGHT_METRICS or not class_balance:
        return False
    return min(class_balance.values()) / max(sum(class_balance.values()), 1) < 0.2


# (pattern, metric, explanation); first match wins, so specific phrases come first.
_RULES: list[tuple[str, str, str]] = [
    (r"balanced accuracy|balanced", "balanced_accuracy", "balanced accuracy, so every class counts equally"),
    (r"\brmse\b|root mean squared|squared error", "rmse", "root mean squared error (lower is better)"),
    (r"\bmae\b|mean absolute|absolute error", "mae", "mean absolute error (lower is better)"),
    (r"\br2\b|r²|r-squared|variance explained", "r2", "R² (share of variance explained)"),
    (r"log ?loss|calibrat|probabilit", "log_loss", "log loss, so predicted probabilities are well calibrated"),
    (
        r"false positives?|precision|false alarm|wrongly flag",
        "f0.5",
        "F0.5 with a tuned decision threshold: precision weighs twice as much as recall, to avoid false positives",
    ),
    (
        r"recall|sensitivity|false negatives?|miss(ing|ed)? (any|few)|catch (all|as many|every)|don'?t miss",
        "f2",
        "F2 with a tuned decision threshold: recall weighs twice as much as precision, without flagging everyone",
    ),
    (r"\bf1\b|f-score|f score", "f1", "F1 with a tuned decision threshold"),
    (r"\bauc\b|roc|rank", "roc_auc", "ROC AUC (ranking quality)"),
    (r"accura", "accuracy", "accuracy"),
]


def parse_objective(text: str, columns: list[str]) -> Objective:
    """Find the target the text names (if any) and the metric it cares about (task-agnostic here)."""
    lowered = (text or "").lower()
    objective = Objective()
    objective.target = named_target(lowered, columns)
    for pattern, metric, why in _RULES:
        if re.search(pattern, lowered):
            objective.metric = metric
            objective.explanation = f"Optimising {why}, as the objective asks."
            break
    return objective


def named_target(lowered: str, columns: list[str]) -> str | None:
    """A column named after 'predict', 'target', 'forecast'... wins; otherwise any column named in the text."""
    if not lowered:
        return None
    by_lower = {c.lower(): c for c in columns}
    for match in re.finditer(
        r"(?:predict(?:ing)?|target(?: is| column)?|forecast(?:ing)?|estimate|classify|label)\s+"
        r"(?:the\s+|whether\s+|which\s+|if\s+)?[`'\"]?([\w .-]+?)[`'\"]?(?:[;,.!?]|\s|$)",
        lowered,
    ):
        word = match.group(1).strip()
        for cand in (word, word.rstrip("s"), word + "ed", word.replace(" ", "_")):
            if cand in by_lower:
                return by_lower[cand]
    names = sorted(columns, key=len, reverse=True)
    for col in names:
        if len(col) >= 3 and re.search(rf"(?<![\w]){re.escape(col.lower())}(?![\w])", lowered):
            return col
    return None


def finalise_objective(objective: Objective, task: str) -> Objective:
    """Fit the parsed metric to the task (a regression metric on a classifier falls back to the default)."""
    metric = objective.metric
    if metric == "f1" and task == "multiclass":
        metric = "f1_macro"
    if not metric or not applies_to(metric, task):
        if metric:
            objective.explanation = (
                f"The objective's metric does not apply to a {task} task; optimising {DEFAULT_METRIC[task]} instead."
            )
        else:
            objective.explanation = (
                f"No metric named; optimising {DEFAULT_METRIC[task]}, the usual choice for {task} tasks."
            )
        metric = DEFAULT_METRIC[task]
    objective.metric = metric
    objective.greater_is_better = METRICS[metric].greater_is_better
    objective.tune_threshold = task == "binary" and metric in THRESHOLD_METRICS
    return objective
