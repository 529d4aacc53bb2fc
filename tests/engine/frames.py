"""Tables with known structure for the engine tests, generated (no downloads)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def churn_frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """Binary churn table: numerics with missing values, a categorical, a date, an ID; churn depends on them."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, n)
    charges = rng.normal(70, 20, n).round(2)
    plan = rng.choice(["basic", "plus", "premium"], n, p=[0.5, 0.3, 0.2])
    signup = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1000, n), unit="D")
    logit = -0.05 * tenure + 0.03 * (charges - 70) + np.where(plan == "basic", 0.8, -0.4) + rng.normal(0, 0.7, n)
    churn = np.where(logit > np.quantile(logit, 0.7), "yes", "no")
    charges[rng.random(n) < 0.08] = np.nan
    return pd.DataFrame(
        {
            "customer_id": np.arange(100000, 100000 + n),
            "tenure": tenure,
            "monthly_charges": charges,
            "plan": plan,
            "signup_date": signup.strftime("%Y-%m-%d"),
            "churn": churn,
        }
    )
