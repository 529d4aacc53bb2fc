"""The production bundle of a finished run: `export/` in the run directory (zipped by the app).

It holds the fitted model with its feature transform, `predict.py` (file in, CSV out), `serve.py`
(FastAPI: `POST /predict`, `GET /health`), `train.py` + `training.json` (reproduce the training from
the raw data with the chosen features and hyperparameters), pinned `requirements.txt` and a README.
Only `pipeline/ml/{runtime,estimators,families,models,metrics}.py` and `sandbox/` are copied in: nothing else of the app.
"""

from __future__ import annotations

import io
import json
import shutil
import sys
import zipfile
from pathlib import Path
from typing import Any

from pipeline.ml.models import model_members

PACKAGE_ROOT = Path(__file__).resolve().parents[2]
RUNTIME_MODULES = (
    "ml/__init__.py",
    "ml/runtime.py",
    "ml/feature_code.py",
    "ml/estimators.py",
    "ml/families.py",
    "ml/models.py",
    "ml/metrics.py",
)
BUNDLE_PACKAGES = (
    "pandas",
    "numpy",
    "scikit-learn",
    "scipy",
    "lightgbm",
    "joblib",
    "pyarrow",
    "RestrictedPython",
    "openpyxl",
)
# The bundle's own serving stack (not the app's); used when it is not installed here.
SERVING_PINS = {"fastapi": "0.165.0", "uvicorn": "0.54.0"}

SERVE_PY = '''"""Serve this exported model over HTTP: python serve.py --host 127.0.0.1 --port 8000

POST /predict  {"records": [{column: value, ...}, ...]}
            -> {"predictions": [...], "probabilities": [{class: p, ...}, ...]}  (probabilities: classification only)
GET  /health   -> {"status": "ok", "task": ..., "target": ..., "sandbox": "<the layers active on this host>"}

The model's feature code runs in the process sandbox (sandbox/), never in this process: in a warm worker started
with the server, which hands every request a fresh sandboxed process prepared ahead of time. The layers it gets
on this host are printed at start-up and reported by /health.
"""
import argparse
import atexit
import math
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import joblib  # noqa: E402
import pandas as pd  # noqa: E402
from fastapi import FastAPI, HTTPException  # noqa: E402
from pydantic import BaseModel  # noqa: E402

import sandbox  # noqa: E402
from pipeline.ml.runtime import FeatureCodeError, MissingColumnsError  # noqa: E402

MODEL = joblib.load(HERE / "model.joblib")
app = FastAPI(title="ml-pipeline model", version="1")


def sandbox_layers() -> str:
    """Start the model's warm sandbox worker (so no request pays for a sandbox start) and name the layers this host
    allows."""
    import tempfile

    try:
        layers = MODEL.warm()
        atexit.register(MODEL.close)
    except FeatureCodeError as exc:  # requests then start their own sandbox runs (and say why they fail)
        print(f"warning: no warm sandbox worker for this model ({exc})", file=sys.stderr)
        layers = ""
    if layers:
        return layers
    work = tempfile.mkdtemp(prefix="serve-probe-")
    try:
        return sandbox.Executor(work, timeout_s=60).run("x = 1").isolation or "unknown"
    finally:
        sandbox.remove_tree(work)


LAYERS = sandbox_layers()


class Records(BaseModel):
    records: list[dict[str, Any]]


def _plain(value):
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@app.get("/health")
def health():
    return {
        "status": "ok",
        "task": MODEL.task,
        "target": MODEL.target,
        "sandbox": LAYERS,
        "sandbox_missing": sorted(sandbox.missing_layers(LAYERS)),
    }


@app.post("/predict")
def predict(body: Records):
    if not body.records:
        return {"predictions": []} if MODEL.task == "regression" else {"predictions": [], "probabilities": []}
    frame = pd.DataFrame(body.records)
    try:
        features = MODEL.features(frame)
    except (MissingColumnsError, FeatureCodeError) as exc:
        raise HTTPException(status_code=422, detail=str(exc))
    out = MODEL.prediction_frame(features)
    answer = {"predictions": [_plain(v) for v in out["prediction"].tolist()]}
    if MODEL.task != "regression":
        names = [str(c) for c in MODEL.classes]
        cols = [f"proba_{c}" for c in MODEL.classes]
        answer["probabilities"] = [{n: float(row[c]) for n, c in zip(names, cols)} for _, row in out.iterrows()]
    return answer


def main():
    import uvicorn

    parser = argparse.ArgumentParser(description="Serve the exported model.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    print(f"feature code runs in the process sandbox; layers on this host: {LAYERS}", file=sys.stderr)
    for name, meaning in sandbox.missing_layers(LAYERS).items():
        print(f"warning: this host refuses the sandbox's {name} layer: {meaning}", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
'''

TRAIN_PY = '''"""Reproduce this model's training from the raw data: python train.py DATA [OUT_DIR]

Uses training.json: the same target, locked holdout split (seed, fraction, stratified for classification),
feature code, model family/families with the chosen hyperparameters (blend weights and decision threshold
included). Fits on the training part and scores the holdout (printed beside the figures the run recorded);
then, as the run did for the model it delivered, refits the same recipe on every row (with as many seed copies
as the run had time for) and writes that to OUT_DIR/model.joblib. The search itself (screening, Optuna) is not
re-run: its result is the recipe.
"""
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import joblib  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from predict import read_any  # noqa: E402
from pipeline.ml.metrics import classification_metrics, regression_metrics  # noqa: E402
from pipeline.ml.models import bag_params, fit_pipeline  # noqa: E402
from pipeline.ml.runtime import BlendedModel, TabularModel  # noqa: E402


def split(spec, y):
    n = len(y)
    frac = spec["holdout_fraction"]
    if spec["task"] == "regression":
        order = np.random.default_rng(spec["seed"]).permutation(n)
        n_hold = max(1, int(round(frac * n)))
        return np.sort(order[n_hold:]), np.sort(order[:n_hold])
    from sklearn.model_selection import train_test_split

    tr, ho = train_test_split(np.arange(n), test_size=frac, random_state=spec["seed"], stratify=y.astype(str))
    return np.sort(tr), np.sort(ho)


def labels(spec, y):
    if spec["task"] == "regression":
        return pd.to_numeric(y, errors="coerce").astype(float)
    by_text = {str(c): c for c in spec["classes"]}
    def one(v):
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        return by_text.get(str(v), v)
    return y.map(one).astype(object)


def fit_recipe(spec, F, y, counts):
    """Every member of the recipe fitted on F, y; counts[i] seed copies of member i where it depends on its seed,
    sharing the member's blend weight (as the run's delivered model)."""
    fitted, weights = [], []
    for member, count in zip(spec["members"], counts):
        copies = [p for p in (bag_params(member["family"], member["params"], b) for b in range(count)) if p is not None]
        for params in copies:
            fitted.append(fit_pipeline(member["family"], spec["task"], params, F,
                                       y.tolist() if spec["task"] != "regression" else y,
                                       member["class_weight"], spec["seed"]))
            weights.append(member["weight"] / len(copies))
    return fitted[0] if len(fitted) == 1 else BlendedModel(fitted, weights, spec["task"])


def copy_counts(spec):
    """Seed copies of each member in the delivered model (bundles written before copies were counted per member
    give one count for all)."""
    return spec.get("copies") or [spec.get("bags", 1)] * len(spec["members"])


def main(argv):
    if len(argv) not in (2, 3):
        print("usage: python train.py DATA [OUT_DIR]", file=sys.stderr)
        return 2
    spec = json.loads((HERE / "training.json").read_text())
    out_dir = Path(argv[2]) if len(argv) == 3 else HERE / "retrained"
    df = read_any(argv[1])
    df.columns = [str(c) for c in df.columns]
    target = spec["target"]
    df = df[df[target].notna()].reset_index(drop=True)
    y = labels(spec, df[target])
    X = df.drop(columns=[target])
    train_idx, hold_idx = split(spec, y)
    shell = TabularModel(feature_code=spec["feature_code"], pipeline=None, task=spec["task"], target=target,
                         raw_columns=spec["raw_columns"], required_columns=spec["required_columns"],
                         raw_dtypes=spec["raw_dtypes"], classes=spec["classes"], threshold=spec["threshold"],
                         positive_index=spec["positive_index"], metric=spec["metric"])
    F_train = shell.features(X.iloc[train_idx])
    y_train = y.iloc[train_idx].reset_index(drop=True)
    shell.pipeline = fit_recipe(spec, F_train, y_train, [1] * len(spec["members"]))
    F_hold = shell.features(X.iloc[hold_idx])
    y_hold = y.iloc[hold_idx].reset_index(drop=True)
    if spec["task"] == "regression":
        metrics = regression_metrics(y_hold.to_numpy(dtype=float), shell.predict_features(F_hold))
    else:
        proba = shell.predict_proba_features(F_hold)
        order = list(shell.pipeline.classes_)
        aligned = np.zeros((len(F_hold), len(spec["classes"])))
        aligned[:, [spec["classes"].index(c) for c in order]] = proba
        metrics = classification_metrics(y_hold.to_numpy(), aligned, np.asarray(spec["classes"], dtype=object),
                                         spec["threshold"], spec["positive_index"])
    delivered_rows = len(train_idx)
    if spec.get("refit_full"):   # the holdout has been scored: the delivered model learns from every row
        order = np.concatenate([train_idx, hold_idx])   # the run's order: training rows, then the holdout's
        shell.pipeline = fit_recipe(spec, shell.features(X.iloc[order]), y.iloc[order].reset_index(drop=True),
                                    copy_counts(spec))
        delivered_rows = len(y)
    out_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(shell, out_dir / "model.joblib")
    report = {"metric": spec["metric"], "holdout": {k: float(v) for k, v in metrics.items()},
              "expected_holdout": spec["holdout_metrics"], "n_train": len(train_idx), "n_holdout": len(hold_idx),
              "holdout_note": "scored on the model fitted on the training part, before any refit",
              "delivered_model_rows": delivered_rows, "bags": spec.get("bags", 1) if spec.get("refit_full") else 1}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
'''

README_MD = """# Exported model: {title}

Target `{target}` ({task}); metric optimised **{metric}** — CV {cv}, locked holdout {holdout}.
Model: {model}. Trained {created} with Python {python}.

```bash
python -m venv .venv && . .venv/bin/activate && pip install -r requirements.txt

python predict.py new_rows.csv predictions.csv          # CSV, TSV, Excel, Parquet or JSON in; CSV out
python serve.py --host 127.0.0.1 --port 8000            # HTTP API (FastAPI + uvicorn)
curl -s localhost:8000/health
curl -s -X POST localhost:8000/predict -H 'content-type: application/json' \\
     -d '{{"records": [{example}]}}'
python train.py training_data.csv retrained/             # refit from raw data with the same recipe
```

- `predict.py` writes `prediction` and, for classification, one `proba_<class>` column per class.
- `serve.py` answers `{{"predictions": [...], "probabilities": [{{class: p}}, ...]}}` (probabilities for
  classification only); missing required columns give HTTP 422.
- `train.py` re-splits the raw table exactly as the run did (seed {seed}, holdout {holdout_fraction:.0%}),
  applies the same feature code and fits the chosen model(s) with the chosen hyperparameters (`training.json`);
  it prints the holdout metrics next to the ones recorded here, then, when the run delivered a model refit on
  every row (`refit_full` in `training.json`), refits the recipe on every row the same way and saves that.
- {delivered}
- Required input columns: {required}.
- The feature code (`model.joblib` → `feature_code`) runs only in the process sandbox (`sandbox/`), never in
  the process that loads the model: a fresh process per call with RestrictedPython's guards, a minimal
  environment (no keys), resource limits, an audit hook and, where the host's kernel allows them, user,
  network, IPC and PID namespaces, Landlock and seccomp. `serve.py` starts a warm worker for the model at
  start-up (each request still gets a fresh sandboxed process, prepared ahead of time; nothing one request's
  code does survives into the next), prints the layers it got and reports them in `GET /health`. Where the
  kernel refuses some (Docker's default seccomp profile, some container runtimes, kernels before 5.13 for
  Landlock), `/health` lists them under `sandbox_missing`: then the fresh process, the environment, the limits,
  the language layer and the audit hook are what remain.
"""


def _version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def pins() -> dict[str, str]:
    out = {}
    for name in BUNDLE_PACKAGES:
        ver = _version(name)
        if ver:
            out[name] = ver
    for name, fallback in SERVING_PINS.items():
        out[name] = _version(name) or fallback
    return out


def training_spec(model: Any, state: Any, best: Any, delivery: dict[str, Any] | None = None) -> dict[str, Any]:
    """The recipe of `model` (the one the holdout scored) and how the delivered model was made from it."""
    classes = None if model.classes is None else [c.item() if hasattr(c, "item") else c for c in model.classes]
    return {
        "target": model.target,
        "task": model.task,
        "metric": model.metric,
        "seed": state.config.seed,
        "holdout_fraction": min(max(state.config.holdout_fraction, 0.05), 0.5),
        "feature_code": model.feature_code,
        "raw_columns": list(model.raw_columns),
        "required_columns": list(model.required_columns),
        "raw_dtypes": dict(model.raw_dtypes),
        "classes": classes,
        "threshold": model.threshold,
        "positive_index": model.positive_index,
        "members": model_members(model),
        "model": best.model,
        "cv_metrics": dict(best.cv_metrics),
        "holdout_metrics": dict(best.holdout_metrics),
        "refit_full": bool(delivery and delivery.get("refit_on_all_rows")),
        "bags": int((delivery or {}).get("bags", 1)),
        "copies": [int(c) for c in (delivery or {}).get("copies", [])],
    }


def write_bundle(
    run_dir: Path,
    model_path: Path,
    predict_py: str,
    state: Any = None,
    best: Any = None,
    recipe: Any = None,
    delivery: dict[str, Any] | None = None,
) -> Path:
    """export/: model, runtime modules, sandbox, predict.py, serve.py, train.py, training.json, pins, README.

    `recipe` is the model the holdout scored (the delivered one at `model_path` may be it refit on every row)."""
    import joblib

    run_dir = Path(run_dir)
    export = run_dir / "export"
    if export.exists():
        shutil.rmtree(export)
    (export / "pipeline" / "ml").mkdir(parents=True)
    shutil.copyfile(model_path, export / "model.joblib")
    (export / "pipeline" / "__init__.py").write_text('"""Only the runtime the exported model needs."""\n')
    for name in RUNTIME_MODULES:
        shutil.copyfile(PACKAGE_ROOT / "pipeline" / name, export / "pipeline" / name)
    shutil.copytree(PACKAGE_ROOT / "sandbox", export / "sandbox", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (export / "predict.py").write_text(predict_py)
    (export / "serve.py").write_text(SERVE_PY)
    (export / "train.py").write_text(TRAIN_PY)
    pinned = pins()
    (export / "requirements.txt").write_text(
        f"# Python {sys.version.split()[0]}\n" + "".join(f"{k}=={v}\n" for k, v in pinned.items())
    )
    if state is not None and best is not None:
        spec = training_spec(recipe if recipe is not None else joblib.load(model_path), state, best, delivery)
        (export / "training.json").write_text(json.dumps(spec, indent=2, default=str))
        metric = spec["metric"]
        example = ", ".join(f'"{c}": ...' for c in spec["required_columns"][:3])
        (export / "README.md").write_text(
            README_MD.format(
                title=state.config.dataset_name or state.run_id,
                target=spec["target"],
                task=spec["task"],
                metric=metric,
                cv=_fmt(best.cv_metrics.get(metric)),
                holdout=_fmt(best.holdout_metrics.get(metric)),
                model=best.model,
                created=_when(state.created_at),
                python=sys.version.split()[0],
                example="{" + example + "}",
                seed=spec["seed"],
                holdout_fraction=spec["holdout_fraction"],
                delivered=(
                    "`model.joblib` was refit on all rows after the holdout was scored"
                    + (f" ({spec['bags']} seed copies averaged)" if spec["bags"] > 1 else "")
                    + "; the holdout figure above was measured before that refit, on the model trained without "
                    "those rows."
                    if spec["refit_full"]
                    else "`model.joblib` is the model the holdout scored (trained on the training part)."
                ),
                required=", ".join(f"`{c}`" for c in spec["required_columns"]) or "(none)",
            )
        )
    return export


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, (int, float)) else "—"


def _when(ts: float) -> str:
    import time

    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def zip_bytes(export_dir: str | Path) -> bytes:
    """The export folder as a zip (entries under `export/`)."""
    root = Path(export_dir)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                zf.write(path, Path("export") / path.relative_to(root))
    return buf.getvalue()
