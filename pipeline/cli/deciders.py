"""How `python -m pipeline run` answers approval gates: a decisions file, else the terminal, else approve."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from pipeline.run.context import Cancelled
from pipeline.state import GATES, Gate


def load_decisions(path: str | Path) -> dict[str, dict[str, Any]]:
    """`--decisions FILE`: {"features": {"approve": false, "feedback": "drop column x"}, ...}. Raises ValueError."""
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise ValueError(f"Cannot read the decisions file {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"The decisions file {path} is not valid JSON ({exc.msg}, line {exc.lineno}).") from None
    if not isinstance(data, dict):
        raise ValueError('The decisions file must hold a JSON object: gate name -> {"approve": ..., "feedback": ...}.')
    out = {}
    for name, entry in data.items():
        if name not in GATES:
            raise ValueError(f"Unknown gate {name!r} in the decisions file; gates are {', '.join(GATES)}.")
        if isinstance(entry, bool):
            entry = {"approve": entry}
        if not isinstance(entry, dict) or not isinstance(entry.get("approve", True), bool):
            raise ValueError(f'Decision for {name!r} must be an object like {{"approve": false, "feedback": "..."}}.')
        out[name] = {"approve": entry.get("approve", True), "feedback": str(entry.get("feedback") or "")}
    return out


def gate_text(gate: Gate) -> str:
    """A gate as plain text for a terminal."""
    d = gate.details
    lines = [f"=== Approval gate: {gate.title} (iteration {gate.iteration}) ===", re.sub(r"\*\*", "", gate.summary)]
    if gate.name == "features":
        lines += [
            f"shape {d.get('shape_before')} -> {d.get('shape_after')}",
            f"new columns: {', '.join(d.get('new_columns') or []) or '-'}",
            f"dropped columns: {', '.join(d.get('dropped_columns') or []) or '-'}",
            f"quick CV {d.get('metric')}: {d.get('cv_before')} -> {d.get('cv_after')}",
            "--- code ---",
            (d.get("code") or "").rstrip(),
            "--- first rows after ---",
        ]
        lines += [json.dumps(r)[:300] for r in (d.get("sample_after") or [])[:3]]
    elif gate.name == "training":
        for c in d.get("candidates") or []:
            lines.append(
                f"- {c['name']} ({c['family']}): params {json.dumps(c['params'])}; "
                f"search space {json.dumps(c['search_space'])}"
            )
    else:
        lines.append(f"critic: {d.get('action')} — {d.get('reason')}")
    return "\n".join(lines)


class CliDecider:
    """Answers gates for `python -m pipeline run`: a decisions file, else the terminal, else approve."""

    def __init__(
        self,
        decisions: dict[str, dict[str, Any]] | None,
        interactive: bool,
        stream: TextIO | None = None,
        read: Callable[[str], str] | None = None,
    ) -> None:
        self.decisions = dict(decisions) if decisions is not None else None
        self.interactive = interactive
        self.stream = stream or sys.stderr
        self.read = read or input

    def __call__(self, gate: Gate) -> tuple[bool, str, str]:
        if self.decisions is not None:
            entry = self.decisions.pop(gate.name, None)  # a file's decision applies once, then approve
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
