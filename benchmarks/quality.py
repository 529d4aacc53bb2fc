"""Quality benchmark: the pipeline's CLI against LightGBM defaults, FLAML and AutoGluon, side by side.

Every dataset ships inside an installed package or is generated with known structure. Each is split
once into train/test; every tool sees only train (the pipeline then locks its own holdout inside
train), and all are scored on the same unseen test rows. Scores: ROC AUC (binary), accuracy
(multiclass), R² (regression; the tools optimise RMSE, R² only puts datasets on one scale).

    python benchmarks/quality.py --budget 60            # creates .bench-venv with the comparators once
    python benchmarks/quality.py --budget 60 --only churn,wine
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import datasets as skd
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ("pipeline", "lightgbm", "flaml", "autogluon")


def ensure_venv(path: Path) -> Path:
    python = path / "bin" / "python"
    if not python.exists():
        print(f"creating {path} with the comparators (one time)…", file=sys.stderr)
        venv.create(path, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(ROOT / "benchmarks" / "requirements.txt")],
                       check=True)
    return python


def _sk(loader, target="target") -> pd.DataFrame:
    frame = loader(as_frame=True).frame
    return frame.rename(columns={"target": target})


def churn(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, n)
    charges = rng.normal(70, 20, n).round(2)
    plan = rng.choice(["basic", "plus", "premium"], n, p=[0.5, 0.3, 0.2])
    region = rng.choice([f"r{i}" for i in range(40)], n)
    signup = pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 1400, n), unit="D")
    support = rng.poisson(1.5, n)
    logit = (-0.04 * tenure + 0.025 * (charges - 70) + np.where(plan == "basic", 0.9, -0.3) + 0.35 * support
             + 0.6 * (signup.month.isin([11, 12])) + 0.02 * np.char.str_len(region.astype(str)) + rng.normal(0, 0.8, n))
    frame = pd.DataFrame({"tenure": tenure, "monthly_charges": charges, "plan": plan, "region": region,
                          "signup_date": signup.strftime("%Y-%m-%d"), "support_calls": support,
                          "churn": np.where(logit > np.quantile(logit, 0.72), "yes", "no")})
    frame.loc[rng.random(n) < 0.1, "monthly_charges"] = np.nan
    frame.loc[rng.random(n) < 0.05, "plan"] = np.nan
    return frame


def houses(n: int = 3000, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sqft = rng.gamma(6, 300, n)
    rooms = np.clip((sqft / 400 + rng.normal(0, 1, n)).round(), 1, 12)
    hood = rng.choice(["north", "south", "east", "west", "center"], n)
    built = pd.Timestamp("1950-01-01") + pd.to_timedelta(rng.integers(0, 365 * 70, n), unit="D")
    premium = pd.Series(hood).map({"north": 1.1, "south": 0.9, "east": 1.0, "west": 1.05, "center": 1.4}).to_numpy()
    age = 2026 - built.year
    price = (120 * sqft * premium + 8000 * rooms - 900 * age + 40 * sqft * (hood == "center") + rng.normal(0, 25000, n))
    frame = pd.DataFrame({"sqft": sqft.round(0), "rooms": rooms, "neighbourhood": hood,
                          "built": built.strftime("%Y-%m-%d"), "garage": rng.choice(["yes", "no"], n), "price": price.round(0)})
    frame.loc[rng.random(n) < 0.07, "sqft"] = np.nan
    return frame


def fair(python: Path) -> pd.DataFrame:
    """statsmodels' 'fair' affairs survey (6,366 rows), as a binary task: any affair or not."""
    with tempfile.NamedTemporaryFile(suffix=".csv", delete=False) as fh:
        subprocess.run([str(python), "-c", "import statsmodels.api as sm, sys; "
                        "sm.datasets.fair.load_pandas().data.to_csv(sys.argv[1], index=False)", fh.name], check=True)
        frame = pd.read_csv(fh.name)
    frame["had_affair"] = np.where(frame.pop("affairs") > 0, "yes", "no")
    return frame


def datasets(python: Path) -> dict[str, tuple[pd.DataFrame, str, str]]:
    return {
        "breast_cancer": (_sk(skd.load_breast_cancer), "target", "binary"),
        "fair_affairs": (fair(python), "had_affair", "binary"),
        "churn_generated": (churn(), "churn", "binary"),
        "wine": (_sk(skd.load_wine), "target", "multiclass"),
        "digits": (_sk(skd.load_digits), "target", "multiclass"),
        "diabetes": (_sk(skd.load_diabetes), "target", "regression"),
        "houses_generated": (houses(), "price", "regression"),
    }


def score(task: str, y: pd.Series, pred: list, proba: list | None, classes: list[str] | None) -> float:
    if task == "regression":
        return float(r2_score(y.astype(float), np.asarray(pred, dtype=float)))
    if task == "multiclass":
        return float(accuracy_score(y.astype(str), pd.Series(pred).astype(str)))
    labels = sorted(y.astype(str).unique())
    pos = "yes" if "yes" in labels else labels[-1]
    p = np.asarray(proba)[:, [str(c) for c in classes].index(pos)]
    return float(roc_auc_score((y.astype(str) == pos).astype(int), p))


def run_pipeline(train: Path, test: Path, target: str, budget: float, work: Path) -> tuple[dict, float, dict]:
    out = work / "run"
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-m", "pipeline", "run", str(train), "--target", target, "--time-budget", str(budget),
                    "--out", str(out), "--store", str(work / "store.sqlite")], cwd=ROOT, check=True,
                   stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    wall = time.monotonic() - t0
    pred_csv = work / "pred.csv"
    proc = subprocess.run([sys.executable, "-m", "pipeline", "predict", "--run", str(out), "--data", str(test), "--out",
                           str(pred_csv)], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"predict failed: {proc.stderr.strip()[-500:]}")
    pred = pd.read_csv(pred_csv)
    proba_cols = [c for c in pred.columns if c.startswith("proba_")]
    metrics = json.loads((out / "metrics.json").read_text())
    return ({"pred": pred["prediction"].tolist(), "proba": pred[proba_cols].to_numpy().tolist() if proba_cols else None,
             "classes": [c[len("proba_"):] for c in proba_cols] or None}, wall, metrics)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget", type=float, default=60.0, help="seconds per tool per dataset")
    ap.add_argument("--only", default="", help="comma-separated dataset names")
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--venv", default=str(ROOT / ".bench-venv"))
    args = ap.parse_args()
    python = ensure_venv(Path(args.venv))
    tools = args.tools.split(",")
    rows = []
    for name, (frame, target, task) in datasets(python).items():
        if args.only and name not in args.only.split(","):
            continue
        strat = frame[target].astype(str) if task != "regression" else None
        train, test = train_test_split(frame, test_size=0.25, random_state=7, stratify=strat)
        with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
            work = Path(tmp)
            train_csv, test_csv = work / "train.csv", work / "test.csv"
            train.to_csv(train_csv, index=False)
            test.to_csv(test_csv, index=False)
            test.drop(columns=[target]).to_csv(work / "test_X.csv", index=False)
            row = {"dataset": name, "task": task, "rows": len(frame), "cols": frame.shape[1] - 1}
            for tool in tools:
                try:
                    if tool == "pipeline":
                        out, wall, metrics = run_pipeline(train_csv, work / "test_X.csv", target, args.budget, work)
                        row["pipeline_wall_s"] = round(wall, 1)
                        row["pipeline_model"] = metrics["model"]
                    else:
                        res = work / f"{tool}.json"
                        t0 = time.monotonic()
                        subprocess.run([str(python), str(ROOT / "benchmarks" / "_baselines.py"), tool, str(train_csv),
                                        str(test_csv), target, task, str(args.budget), str(res)], check=True,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                        out = json.loads(res.read_text())
                        row[f"{tool}_wall_s"] = round(time.monotonic() - t0, 1)
                    row[tool] = round(score(task, test[target], out["pred"], out["proba"], out["classes"]), 4)
                except (subprocess.CalledProcessError, RuntimeError) as exc:
                    row[tool] = float("nan")
                    print(f"{name}/{tool} failed: {exc}", file=sys.stderr)
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    table = pd.DataFrame(rows)
    metric = {"binary": "ROC AUC", "multiclass": "accuracy", "regression": "R²"}
    table.insert(2, "score", table["task"].map(metric))
    print(table.to_markdown(index=False) if _has_tabulate() else table.to_string(index=False))
    print()
    for tool in tools:
        if tool != "pipeline" and tool in table:
            diff = (table["pipeline"] - table[tool])
            print(f"pipeline − {tool}: mean {diff.mean():+.4f}, median {diff.median():+.4f}, "
                  f"worst {diff.min():+.4f} ({table.loc[diff.idxmin(), 'dataset']}), wins {int((diff > 0).sum())}/{len(diff)}")
    walls = table["pipeline_wall_s"] / args.budget
    print(f"pipeline wall time / budget: median {walls.median():.2f}, max {walls.max():.2f}")
    return 0


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
        return True
    except ImportError:
        return False


if __name__ == "__main__":
    sys.exit(main())
