"""What a run says about leakage suspects (pipeline.ml.leakage finds them): which are excluded from the
features, the warning at the top of the profile, report and app, the one-line summary for the notes, and the
columns a user's feedback asks to keep."""

from __future__ import annotations

import re
from typing import Any


def excluded(suspects: list[dict[str, Any]]) -> list[str]:
    """The suspects left out of the features (all but the ones the user chose to keep)."""
    return [s["column"] for s in suspects if not s.get("kept")]


def leakage_note(suspects: list[dict[str, Any]]) -> str:
    """The markdown warning for the top of the profile, the report and the app; '' when nothing was flagged."""
    if not suspects:
        return ""
    out = [s for s in suspects if not s.get("kept")]
    kept = [s for s in suspects if s.get("kept")]
    lines = []
    if out:
        names = ", ".join(f"`{s['column']}`" for s in out)
        lines.append(
            f"⚠️ **Possible target leakage: {len(out)} column{'s' if len(out) > 1 else ''} excluded from the "
            f"features** ({names}). A column that knows the outcome is usually recorded after it, so new "
            "rows would not have it, and a model using it would score far better here than in use."
        )
        lines += [f"- `{s['column']}`: {s['reason']}" for s in out]
        example = out[0]["column"]
        lines.append(
            f"- If a column is in fact known before the outcome, keep it: `--keep-columns {example}` on the "
            "command line, *Keep flagged columns* in the app's settings, or reject the features gate with "
            f'"keep column {example}".'
        )
    if kept:
        if lines:
            lines.append("")
        names = ", ".join(f"`{s['column']}`" for s in kept)
        lines.append(
            f"⚠️ **Kept at the user's request although it looks like target leakage: {names}.** The model uses "
            "it: the holdout score may be optimistic, and predictions need the column."
        )
        lines += [f"- `{s['column']}`: {s['reason']}" for s in kept]
    return "\n".join(lines)


RULE_WORDS = {
    "near-perfect alone": "predicts the target almost perfectly on its own",
    "beats all other columns": "predicts the target far better than all the other columns together",
    "knows what the other columns cannot": "gets right the rows that all the other columns get wrong",
    "near-duplicate of the target": "is a near-copy of the target",
    "missingness": "whether it is empty predicts the target",
    "date after the outcome": "is a date that predicts the target almost perfectly",
}


def leakage_summary(suspects: list[dict[str, Any]]) -> str:
    """One plain sentence for the run's notes and the profile summary; '' when nothing was flagged."""

    def said(items: list[dict[str, Any]]) -> str:
        return "; ".join(f"{s['column']} ({RULE_WORDS.get(s.get('rule', ''), s.get('rule', ''))})" for s in items)

    out = [s for s in suspects if not s.get("kept")]
    kept = [s for s in suspects if s.get("kept")]
    parts = []
    if out:
        parts.append(f"Excluded from the features as possible target leakage: {said(out)}.")
    if kept:
        parts.append(f"Flagged as possible target leakage but kept at the user's request: {said(kept)}.")
    return " ".join(parts)


def kept_in_feedback(text: str, columns: list[str]) -> list[str]:
    """Columns a user's plain-English feedback asks to keep: "keep column x", "use x anyway", "do not drop x"."""
    lowered = (text or "").lower()
    wanted = []
    for col in columns:
        name = rf"(?:the\s+)?(?:columns?\s+)?[`'\"]?{re.escape(str(col).lower())}(?![\w])"
        if re.search(rf"(?<!not\s)(?<!n't\s)\b(?:keep|retain|include|use)\s+{name}", lowered) or re.search(
            rf"\b(?:do\s+not|don'?t|never)\s+(?:drop|remove|exclude)\s+{name}", lowered
        ):
            wanted.append(col)
    return wanted
