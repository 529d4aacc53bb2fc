"""Run templates: a finished run's recipe saved by name and replayed on a new file with the same columns.

A template holds the objective, the target rule (column name + task), brain and LLM model, budget, loops,
trials, holdout, seed, approval gates, the feature code in force, and the chosen model family with its tuned
hyperparameters and search space. Replay wraps the run's brain in `TemplateBrain`, which answers the feature
and model-plan questions from the template (the code still goes through the sandbox and the validators).
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from pathlib import Path
from typing import Any

from pipeline.brains.base import Brain, CandidateSpec, ModelPlan
from pipeline.files import write_json
from pipeline.run.store import default_home, load_state
from pipeline.state import RunConfig
from pipeline.tables.reader import DataError

CONFIG_FIELDS = (
    "objective",
    "task",
    "brain",
    "model",
    "time_budget_s",
    "max_loops",
    "max_trials",
    "holdout_fraction",
    "seed",
    "cv_folds",
    "keep_columns",
    "refit_full",
)


def templates_dir(home: Path | None = None) -> Path:
    return Path(home or default_home()) / "templates"


def _safe(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", name or ""):
        raise DataError("A template name uses letters, digits, '.', '_' or '-' (up to 64 characters).")
    return name


def build_template(run_dir: str | Path, name: str) -> dict[str, Any]:
    from pipeline.brains.base import ModelRequest
    from pipeline.brains.offline import OfflineBrain

    run_dir = Path(run_dir)
    if not (run_dir / "run.json").is_file():
        raise DataError(f"{run_dir} is not a run directory (run.json is missing).")
    state = load_state(run_dir)
    if state.status != "finished" or not (run_dir / "lineage.json").is_file():
        raise DataError(f"Run {state.run_id} did not finish; only finished runs can be saved as templates.")
    lineage = json.loads((run_dir / "lineage.json").read_text())
    members = lineage.get("members") or []
    family = members[0]["family"] if members else ""
    params = {k: v for k, v in (members[0]["params"] if members else {}).items()}
    request = ModelRequest(
        profile=state.profile,
        objective=state.objective,
        n_rows=lineage["dataset"]["n_rows"],
        n_features=len(lineage.get("features") or []),
        iteration=1,
    )
    space = next((c.search_space for c in OfflineBrain().model_plan(request).candidates if c.family == family), {})
    tuned = {k: params[k] for k in space if k in params}
    cfg = state.config
    return {
        "name": _safe(name),
        "saved_at": time.time(),
        "from_run": state.run_id,
        "config": {k: getattr(cfg, k) for k in CONFIG_FIELDS if hasattr(cfg, k)},
        "gates": list(getattr(cfg, "gates", []) or []),
        "target": state.profile.target,
        "columns": lineage["dataset"]["columns"],
        "feature_code": lineage["feature_code"],
        "model": {
            "family": family,
            "name": lineage["model"],
            "params": tuned,
            "search_space": space,
            "class_weight": members[0]["class_weight"] if members else None,
        },
    }


def save_template(run_dir: str | Path, name: str, home: Path | None = None) -> Path:
    template = build_template(run_dir, name)
    path = templates_dir(home) / f"{template['name']}.json"
    write_json(path, template)
    return path


def list_templates(home: Path | None = None) -> list[dict[str, Any]]:
    folder = templates_dir(home)
    out = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            out.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    return out


def load_template(name: str, home: Path | None = None) -> dict[str, Any]:
    path = templates_dir(home) / f"{_safe(name)}.json"
    if not path.is_file():
        known = ", ".join(t["name"] for t in list_templates(home)) or "none saved yet"
        raise DataError(f"No template named {name!r} (known: {known}).")
    return json.loads(path.read_text())


def apply_template(config: RunConfig, template: dict[str, Any], keep: set[str] | None = None) -> RunConfig:
    """The template's settings on top of `config`, except the fields named in `keep` (set explicitly)."""
    keep = keep or set()
    changes = {k: v for k, v in template["config"].items() if k not in keep and hasattr(config, k)}
    if "target" not in keep:
        changes["target"] = template["target"]
    if "gates" not in keep and hasattr(config, "gates") and template.get("gates"):
        changes["gates"] = list(template["gates"])
    return dataclasses.replace(config, **changes)


def check_columns(template: dict[str, Any], columns: list[str]) -> None:
    missing = [c for c in template["columns"] if c not in columns]
    if missing:
        raise DataError(
            f"The file lacks column(s) the template {template['name']!r} was made with: " + ", ".join(missing[:10])
        )


class TemplateBrain:
    """The run's brain, but features and the model plan come from the template."""

    def __init__(self, inner: Brain, template: dict[str, Any]) -> None:
        self._inner = inner
        self.template = template

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def feature_code(self, request: Any) -> str:
        code = self.template.get("feature_code") or ""
        return code if code.strip() else self._inner.feature_code(request)

    def model_plan(self, request: Any) -> ModelPlan:
        """The template's family with its tuned parameters; the run's own plan when the template names none (a
        hand-edited template may leave out any field but the family)."""
        m = self.template.get("model") or {}
        if not m.get("family"):
            return self._inner.model_plan(request)
        name = m.get("name") or m["family"]
        spec = CandidateSpec(
            f"{name} (template)", m["family"], dict(m.get("params") or {}), dict(m.get("search_space") or {})
        )
        return ModelPlan(
            candidates=[spec],
            class_weight=m.get("class_weight"),
            reasoning=f"Replaying template {self.template['name']!r}: {m['family']} with its tuned "
            "hyperparameters and search space.",
        )
