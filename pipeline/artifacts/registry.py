"""The model registry: every finished run's model with its lineage, comparable across runs.

`lineage()` is written by finalize as `lineage.json` in the run directory; the store registers it
(`RunStore.register`) when the run's row is saved as finished. One model per dataset fingerprint can be
marked "production".
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any


def file_hash(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fingerprint(data_path: str | Path, n_rows: int, columns: list[str]) -> dict[str, Any]:
    """Dataset fingerprint: content hash of the file, shape and column names."""
    try:
        digest = file_hash(data_path)
    except OSError:
        digest = hashlib.sha256(("\x1f".join(columns) + f"|{n_rows}").encode()).hexdigest()
    return {"hash": digest, "n_rows": int(n_rows), "n_cols": len(columns), "columns": list(columns)}


def dataset_fingerprint(state: Any, n_rows: int, raw_columns: list[str]) -> dict[str, Any]:
    """The run's dataset: name and fingerprint (hashing a large file takes a while: finalize does it early)."""
    cfg = state.config
    columns = list(raw_columns) + [state.profile.target]
    return {"name": cfg.dataset_name or Path(cfg.data_path).name, **fingerprint(cfg.data_path, n_rows, columns)}


def lineage(
    state: Any,
    best: Any,
    dataset: dict[str, Any],
    raw_columns: list[str],
    model: Any = None,
    delivery: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What a registered model is: data fingerprint (`dataset_fingerprint`), objective, recipe (`model`: the one the
    holdout scored) and how the delivered model was made from it."""
    from pipeline.artifacts.export import pins
    from pipeline.ml.models import model_members

    cfg = state.config
    members = model_members(model) if model is not None else []
    return {
        "run_id": state.run_id,
        "created_at": state.created_at,
        "registered_at": time.time(),
        "dataset": dataset,
        "target": state.profile.target,
        "task": state.profile.task,
        "objective": cfg.objective,
        "metric": state.objective.metric,
        "greater_is_better": state.objective.greater_is_better,
        "brain": cfg.brain,
        "llm_model": cfg.model,
        "model": best.model,
        "families": [m["family"] for m in members],
        "feature_code": getattr(model, "feature_code", None) or best.feature_code,
        "features": list(getattr(model, "required_columns", []) or []),
        "hyperparameters": dict(state.training.best_params)
        if state.selected_iteration == state.iteration
        else _params_of(state, best),
        "members": members,
        "cv_metrics": dict(best.cv_metrics),
        "holdout_metrics": dict(best.holdout_metrics),
        "cv_score": best.cv_score,
        "holdout_score": best.holdout_metrics.get(state.objective.metric),
        "delivered": dict(delivery or {}),
        "versions": pins(),
    }


def _params_of(state: Any, best: Any) -> dict[str, Any]:
    """Tuned parameters of an earlier iteration: the best complete trial of the family that iteration tuned first
    (its best family; the families tuned after it in the time left are blend members)."""
    trials = [t for t in state.training.trials if t.get("iteration") == best.iteration and t.get("value") is not None]
    if not trials:
        return {}
    trials = [t for t in trials if t.get("family") == trials[0].get("family")]
    pick = max if state.objective.greater_is_better else min
    return dict(pick(trials, key=lambda t: t["value"])["params"])


def compare_table(entries: list[dict[str, Any]]):
    """Side by side: one column per registered run, rows for lineage, metrics, features and parameters."""
    import pandas as pd

    metrics = sorted({m for e in entries for m in e["lineage"]["holdout_metrics"]})
    rows: dict[str, list[Any]] = {}

    def put(label: str, fn) -> None:
        rows[label] = [fn(e["lineage"]) for e in entries]

    put("dataset", lambda rec: rec["dataset"]["name"])
    put("dataset hash", lambda rec: rec["dataset"]["hash"][:12])
    put("shape", lambda rec: f"{rec['dataset']['n_rows']} × {rec['dataset']['n_cols']}")
    put("target", lambda rec: rec["target"])
    put("objective", lambda rec: rec["objective"] or "—")
    put("metric", lambda rec: rec["metric"])
    put("brain", lambda rec: rec["brain"] + (f" ({rec['llm_model']})" if rec.get("llm_model") else ""))
    put("model", lambda rec: rec["model"])
    put("CV score", lambda rec: _num(rec["cv_score"]))
    put("holdout score", lambda rec: _num(rec["holdout_score"]))
    for m in metrics:
        put(f"holdout {m}", lambda rec, m=m: _num(rec["holdout_metrics"].get(m)))
    put("features", lambda rec: ", ".join(rec.get("features") or []) or "—")
    put(
        "hyperparameters",
        lambda rec: (
            "; ".join(
                f"{m['family']}: " + ", ".join(f"{k}={v}" for k, v in sorted(m["params"].items()) if v is not None)
                for m in rec.get("members") or []
            )
            or "—"
        ),
    )
    put("created", lambda rec: time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(rec["created_at"])))
    put("versions", lambda rec: ", ".join(f"{k} {v}" for k, v in rec["versions"].items()))
    rows["production"] = ["★ production" if e.get("production") else "" for e in entries]
    frame = pd.DataFrame(rows, index=[e["run_id"] for e in entries]).T
    return frame.astype(object)


def score_frame(entries: list[dict[str, Any]]):
    """CV and holdout score per run in creation order (for the score-against-run chart)."""
    import pandas as pd

    ordered = sorted(entries, key=lambda e: e["created_at"])
    out = []
    for e in ordered:
        for kind, col in (("CV", "cv_score"), ("holdout", "holdout_score")):
            if e[col] is not None:
                out.append({"run": e["run_id"], "score": float(e[col]), "kind": kind, "metric": e["metric"]})
    return pd.DataFrame(out, columns=["run", "score", "kind", "metric"])


def _num(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, (int, float)) else "—"
