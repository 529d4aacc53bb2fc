"""Sample datasets to try the product without a file of your own.

Everything here is built from data that ships inside installed packages (scikit-learn's bundled
tables) or generated from a fixed seed, so nothing is downloaded and the files are identical on
every machine. Headless: the app and the tests both call `sample_path`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.files import write_atomic


@dataclass(frozen=True)
class Sample:
    key: str
    title: str
    target: str
    task: str
    objective: str
    description: str
    build: Callable[[], pd.DataFrame]


def _breast_cancer() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    frame = data.frame.copy()
    frame["diagnosis"] = np.where(frame.pop("target") == 1, "benign", "malignant")
    return frame


def _wine() -> pd.DataFrame:
    from sklearn.datasets import load_wine

    frame = load_wine(as_frame=True).frame.copy()
    frame["cultivar"] = frame.pop("target").map({0: "cultivar_a", 1: "cultivar_b", 2: "cultivar_c"})
    return frame


def _diabetes() -> pd.DataFrame:
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame.copy()
    return frame.rename(
        columns={
            "target": "progression",
            "s1": "tc",
            "s2": "ldl",
            "s3": "hdl",
            "s4": "tch",
            "s5": "ltg",
            "s6": "glucose",
        }
    )


def _churn(n: int = 1500, seed: int = 7) -> pd.DataFrame:
    """A synthetic telecom churn table with the usual mess: categoricals, missing values, an id column."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 73, n)
    contract = rng.choice(["month-to-month", "one year", "two year"], n, p=[0.55, 0.25, 0.20])
    internet = rng.choice(["fiber", "dsl", "none"], n, p=[0.45, 0.4, 0.15])
    monthly = np.round(20 + 45 * (internet == "fiber") + 25 * (internet == "dsl") + rng.normal(0, 8, n), 2)
    tickets = rng.poisson(1.2, n)
    senior = rng.random(n) < 0.16
    logit = (
        -1.1
        - 0.045 * tenure
        + 1.4 * (contract == "month-to-month")
        - 0.8 * (contract == "two year")
        + 0.7 * (internet == "fiber")
        + 0.35 * tickets
        + 0.4 * senior
        + 0.01 * (monthly - 60)
    )
    churned = rng.random(n) < 1 / (1 + np.exp(-logit))
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{100000 + i}" for i in range(n)],
            "tenure_months": tenure,
            "contract": contract,
            "internet_service": internet,
            "monthly_charges": monthly,
            "total_charges": np.round(monthly * tenure * rng.uniform(0.95, 1.05, n), 2),
            "support_tickets": tickets,
            "senior_citizen": np.where(senior, "yes", "no"),
            "payment_method": rng.choice(["card", "bank transfer", "electronic check", "mailed check"], n),
            "churned": np.where(churned, "yes", "no"),
        }
    )
    frame.loc[rng.random(n) < 0.04, "total_charges"] = np.nan
    frame.loc[rng.random(n) < 0.03, "payment_method"] = None
    return frame


SAMPLES: dict[str, Sample] = {
    s.key: s
    for s in (
        Sample(
            "churn",
            "Telecom churn (synthetic, binary)",
            "churned",
            "binary",
            "Predict which customers churn; catching churners (recall) matters most.",
            "1,500 customers, mixed numeric and categorical columns with some gaps.",
            _churn,
        ),
        Sample(
            "breast_cancer",
            "Breast cancer diagnosis (binary)",
            "diagnosis",
            "binary",
            "Classify tumours as benign or malignant.",
            "569 tumours, 30 numeric measurements (scikit-learn's bundled copy of the UCI table).",
            _breast_cancer,
        ),
        Sample(
            "wine",
            "Wine cultivars (multiclass)",
            "cultivar",
            "multiclass",
            "Tell the three cultivars apart; balanced accuracy.",
            "178 wines, 13 chemical measurements, three classes (scikit-learn's bundled copy).",
            _wine,
        ),
        Sample(
            "diabetes",
            "Diabetes progression (regression)",
            "progression",
            "regression",
            "Predict disease progression after one year; minimise RMSE.",
            "442 patients, 10 baseline measurements (scikit-learn's bundled copy, unscaled).",
            _diabetes,
        ),
    )
}


def sample_frame(key: str) -> pd.DataFrame:
    if key not in SAMPLES:
        raise KeyError(f"Unknown sample {key!r}; choose one of {', '.join(SAMPLES)}.")
    return SAMPLES[key].build()


def sample_path(key: str, folder: str | Path) -> Path:
    """Write the sample as CSV into `folder` (once) and return its path."""
    path = Path(folder) / f"{key}.csv"
    if not path.is_file():
        write_atomic(path, sample_frame(key).to_csv(index=False))
    return path
