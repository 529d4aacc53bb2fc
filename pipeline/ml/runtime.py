"""The shipped model: feature code + fitted scikit-learn pipeline, predicting from raw columns.

This module is copied into every export bundle, so it depends only on numpy, pandas, scikit-learn
and the standalone `sandbox` package, in whose process sandbox the feature code always runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from pipeline.ml.feature_code import (  # noqa: F401  (FeatureCodeError: where callers have always found it)
    FEATURE_TIMEOUT_S,
    WORKER_HARNESS,
    WORKER_SPARES,
    FeatureCodeError,
    arrow_bytes,
    arrow_rows,
    plain_text,
    sandboxed_features,
    worker_features,
)


class MissingColumnsError(ValueError):
    """New data lacks columns the model needs."""


class TablePrep(BaseEstimator, TransformerMixin):
    """Fix the column set and types seen at fit time: dates become numbers, text becomes categories.

    At predict time extra columns are dropped and missing ones become NaN, so messy new data with
    the same meaning still scores.
    """

    def fit(self, X: pd.DataFrame, y: Any = None) -> TablePrep:
        X = pd.DataFrame(X)
        self.numeric_: list[str] = []
        self.categorical_: list[str] = []
        self.datetime_: list[str] = []
        empty = X.isna().all()  # one pass over the frame's blocks, not a call per column
        for j, (col, dtype) in enumerate(X.dtypes.items()):
            if empty.iloc[j]:
                continue
            if pd.api.types.is_datetime64_any_dtype(dtype):
                self.datetime_.append(col)
            elif pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
                self.numeric_.append(col)
            else:
                self.categorical_.append(col)
        self.columns_ = self.numeric_ + self.datetime_ + self.categorical_
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        X = pd.DataFrame(X)
        n = len(X)
        out: dict[str, Any] = {}
        for col in self.numeric_:
            out[col] = number_column(X, col)
        for col in self.datetime_:
            out[col] = day_column(X, col)
        for col in self.categorical_:
            s = X[col] if col in X else pd.Series([None] * n, index=X.index, dtype=object)
            values = s.astype(object)
            out[col] = np.where(values.isna(), np.nan, values.astype(str)).astype(object)
        return pd.DataFrame(out, index=X.index, columns=self.columns_)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(self.columns_, dtype=object)


def compact_floats(frame: pd.DataFrame) -> pd.DataFrame:
    """float64 columns as float32: how the run keeps its feature frames (half the memory; at a million rows
    that is the difference between fitting in a small machine or not). Models see the same numbers whether
    or not a frame was compacted, because `number_column` rounds through float32 too."""
    wide = {c: np.float32 for c, t in frame.dtypes.items() if t == np.float64}
    with np.errstate(over="ignore"):  # beyond float32's 3.4e38: infinite, i.e. missing to the models
        return frame.astype(wide) if wide else frame


def number_column(X: pd.DataFrame, col: str) -> np.ndarray:
    """A column as floats at float32 precision, with infinities and anything unreadable as NaN (all NaN if the
    column is absent). float32 precision makes training (on compacted frames) and prediction (on fresh float64
    features) see identical numbers."""
    if col not in X:
        return np.full(len(X), np.nan)
    with np.errstate(over="ignore"):
        arr = to_number(X[col]).to_numpy(dtype=np.float32, na_value=np.nan).astype(float)
    arr[~np.isfinite(arr)] = np.nan
    return arr


def day_column(X: pd.DataFrame, col: str) -> np.ndarray:
    """A date column as days since 1970 (NaN where missing or unreadable)."""
    s = pd.to_datetime(X[col], errors="coerce") if col in X else pd.Series(pd.NaT, index=X.index)
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_localize(None)
    return (s - pd.Timestamp("1970-01-01")).dt.total_seconds().to_numpy(dtype=float, na_value=np.nan) / 86400.0


class TreeMatrix(BaseEstimator, TransformerMixin):
    """TablePrep's typing and ordinal category codes, written in one pass into the matrix a tree model reads.

    Trees need no scaling or one-hot columns, so the frame goes straight into one column-major float array
    (LightGBM and scikit-learn's trees take that layout without copying it). The TablePrep + ColumnTransformer
    route held the numbers three times and a Python string per categorical cell on the way: about a gigabyte
    more at its peak for 800,000 rows × 55 columns, and half of a LightGBM refit's time.

    Categories seen fewer than `min_frequency` times at fit share one code, and values unseen at fit join them
    (as scikit-learn's OneHotEncoder(handle_unknown="infrequent_if_exist") has it); missing values are -1, and so
    are unseen ones when no category was rare at fit.

    Parameters
    ----------
    dtype : the matrix's float type: float32 for models that split in float32 anyway (LightGBM bins its
        input, scikit-learn's forests convert to float32), float64 for HistGradientBoosting, which would copy.
    impute_median : fill missing numbers with the training median (for the forests).
    min_frequency : categories rarer than this at fit are grouped.
    """

    BLOCK_CELLS = 1_000_000  # at a million rows one column at a time, as before: the refit peaks near the limit

    def __init__(self, dtype: Any = np.float32, impute_median: bool = False, min_frequency: int = 3) -> None:
        self.dtype = dtype
        self.impute_median = impute_median
        self.min_frequency = min_frequency

    def fit(self, X: pd.DataFrame, y: Any = None) -> TreeMatrix:
        X = pd.DataFrame(X)
        prep = TablePrep().fit(X)
        self.numeric_, self.datetime_, self.categorical_ = prep.numeric_, prep.datetime_, prep.categorical_
        self.columns_ = prep.columns_
        self.categories_: dict[str, tuple[list[str], list[str]]] = {}
        for col in self.categorical_:
            counts = X[col].astype(str).value_counts()
            self.categories_[col] = (
                sorted(counts.index[counts >= self.min_frequency]),
                sorted(counts.index[counts < self.min_frequency]),
            )
        self.medians_: dict[str, float] = {}
        if self.impute_median:
            for col in self.numeric_ + self.datetime_:
                values = number_column(X, col) if col in self.numeric_ else day_column(X, col)
                self.medians_[col] = float(np.nanmedian(values))
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        X = pd.DataFrame(X)
        out = np.empty((len(X), len(self.columns_)), dtype=self.dtype, order="F")
        position = {col: j for j, col in enumerate(self.columns_)}
        dtypes = dict(X.dtypes.items())
        plain = [
            c
            for c in self.numeric_
            if c in dtypes and (pd.api.types.is_numeric_dtype(dtypes[c]) or pd.api.types.is_bool_dtype(dtypes[c]))
        ]
        # numbers already typed as numbers are converted a block of columns at a time: a call per column cost
        # ~0.4 s a transform on a 2,000-column table; blocks of at most BLOCK_CELLS keep the copy small
        step = max(1, self.BLOCK_CELLS // max(len(X), 1))
        for start in range(0, len(plain), step):
            chunk = plain[start : start + step]
            with np.errstate(over="ignore", invalid="ignore"):
                block = X[chunk].to_numpy(dtype=np.float64, na_value=np.nan).astype(np.float32)
            block[~np.isfinite(block)] = np.nan
            out[:, [position[c] for c in chunk]] = block
        done = set(plain)
        for j, col in enumerate(self.columns_):
            if col in done:
                continue
            if col in self.categories_:
                out[:, j] = self._codes(X, col)
                continue
            out[:, j] = number_column(X, col) if col in self.numeric_ else day_column(X, col)
        for col, median in self.medians_.items():
            column = out[:, position[col]]
            column[np.isnan(column)] = median
        return out

    def _codes(self, X: pd.DataFrame, col: str) -> np.ndarray:
        if col not in X:
            return np.full(len(X), -1.0)
        frequent, rare = self.categories_[col]
        # factorize in the column's own (Arrow) strings, then look up only its distinct values: no Python string
        # per row
        positions, distinct = pd.factorize(X[col].astype(str))
        if not len(distinct):  # every value missing
            return np.full(len(X), -1.0)
        lookup = pd.Index(frequent + rare, dtype=object).get_indexer(np.asarray(distinct, dtype=object))
        # the rare ones share one code, and so do values never seen at fit: an unseen value is a rare one the
        # training rows happened to miss. Coded apart (-1, as missing values are), a mostly-unique text column such
        # as a film title put nearly every training row in the rare group and nearly every new row in another,
        # and the trees' splits between the two cost 2 % RMSE on new rows.
        lookup[(lookup >= len(frequent)) | ((lookup < 0) & bool(rare))] = len(frequent)
        return np.where(positions >= 0, lookup[positions], -1)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(self.columns_, dtype=object)


def to_number(s: pd.Series) -> pd.Series:
    """Numbers that arrive as text ("1,234", "12 kg", "$5") become floats; anything else NaN."""
    if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        return s.astype(float)
    text = s.astype(str).str.replace(r"(?<=\d),(?=\d{3}\b)", "", regex=True).str.strip()
    text = text.str.replace(r"^[$€£]\s*|\s*(%|[a-zA-Z]{1,3})$", "", regex=True)
    return pd.to_numeric(text.where(s.notna()), errors="coerce")


class TabularModel(BaseEstimator):
    """Raw columns in, predictions out: validates columns, runs the feature code, then the fitted pipeline."""

    def __init__(
        self,
        feature_code: str,
        pipeline: Any,
        task: str,
        target: str,
        raw_columns: list[str],
        required_columns: list[str],
        raw_dtypes: dict[str, str],
        classes: list[Any] | None = None,
        threshold: float | None = None,
        positive_index: int = 1,
        metric: str = "",
    ) -> None:
        self.feature_code = feature_code
        self.pipeline = pipeline
        self.task = task
        self.target = target
        self.raw_columns = raw_columns
        self.required_columns = required_columns
        self.raw_dtypes = raw_dtypes
        self.classes = classes
        self.threshold = threshold
        self.positive_index = positive_index
        self.metric = metric

    @property
    def classes_(self) -> np.ndarray:
        return np.asarray(self.classes if self.classes is not None else [])

    def align(self, X: pd.DataFrame) -> pd.DataFrame:
        """The training columns in training order: extra ones dropped, missing optional ones empty."""
        X = pd.DataFrame(X).reset_index(drop=True)
        X.columns = [str(c) for c in X.columns]
        missing = [c for c in self.required_columns if c not in X.columns]
        if missing:
            shown = ", ".join(missing[:10]) + (" …" if len(missing) > 10 else "")
            raise MissingColumnsError(f"Missing required column(s): {shown}.")
        out = {}
        for col in self.raw_columns:
            s = X[col] if col in X.columns else pd.Series([np.nan] * len(X))
            kind = self.raw_dtypes.get(col, "")
            if kind.startswith(("int", "float", "Int", "Float", "uint", "UInt")) and not pd.api.types.is_numeric_dtype(
                s
            ):
                s = to_number(s)
            elif kind == "bool" and not pd.api.types.is_bool_dtype(s):
                s = s.map(
                    lambda v: {"true": True, "false": False, "1": True, "0": False}.get(str(v).strip().lower(), np.nan)
                )
            elif (
                kind.startswith(("object", "str", "string")) and pd.api.types.is_numeric_dtype(s) and not s.isna().all()
            ):
                s = s.astype(object).where(s.notna(), None).map(lambda v: v if v is None else plain_text(v))
            out[col] = s.reset_index(drop=True)
        return pd.DataFrame(out, columns=self.raw_columns)

    def features(self, X: pd.DataFrame) -> pd.DataFrame:
        """The model's input features: the raw columns aligned, then the feature code, in the process sandbox (the
        model's warm worker once warm() has started it, else a fresh sandbox run)."""
        aligned = self.align(X)
        worker = self.__dict__.get("_worker")
        if worker is not None and self.feature_code.strip():
            return worker_features(worker, aligned)
        return sandboxed_features(self.feature_code, aligned)

    def warm(self) -> str:
        """Start this model's own warm sandbox for its feature code, for serving: a call then takes milliseconds
        instead of a fresh sandbox run. Every call still gets a fresh sandboxed process that nothing outlives; the
        worker is this model's alone. Returns the layers it runs under ("" when there is no feature code)."""
        if not self.feature_code.strip():
            return ""
        worker = self.__dict__.get("_worker")
        if worker is None:
            import sandbox

            try:
                worker = sandbox.Worker(
                    self.feature_code,
                    WORKER_HARNESS,
                    timeout_s=FEATURE_TIMEOUT_S,
                    spares=WORKER_SPARES,
                    sample=arrow_bytes(arrow_rows(self._blank_row())),
                )
            except sandbox.WorkerError as exc:
                raise FeatureCodeError(f"The feature code cannot run: {exc}") from None
            self.__dict__["_worker"] = worker
        return worker.isolation

    def _blank_row(self) -> pd.DataFrame:
        """One row of the training columns' types with nothing known: what a spare warms up on."""
        blank = {}
        for col in self.raw_columns:
            kind = self.raw_dtypes.get(col, "")
            if kind.startswith(("int", "float", "Int", "Float", "uint", "UInt", "bool")):
                blank[col] = [np.nan]
            elif kind.startswith("datetime"):
                blank[col] = [pd.NaT]
            else:
                blank[col] = [""]
        return self.align(pd.DataFrame(blank))

    def close(self) -> None:
        """Stop the warm worker, if any (the model still predicts, through fresh sandbox runs)."""
        worker = self.__dict__.pop("_worker", None)
        if worker is not None:
            worker.close()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())  # a copy: object.__getstate__ hands out the live __dict__
        state.pop("_worker", None)  # a process handle: a saved or copied model starts its own
        return state

    def predict_proba_features(self, F: pd.DataFrame) -> np.ndarray:
        return self.pipeline.predict_proba(F)

    def labels_from_proba(self, proba: np.ndarray) -> np.ndarray:
        """Class labels at the tuned threshold (binary) or by highest probability."""
        classes = np.asarray(self.classes)
        if self.threshold is not None and len(classes) == 2:
            pos = self.positive_index
            return np.where(proba[:, pos] >= self.threshold, classes[pos], classes[1 - pos])
        return classes[np.argmax(proba, axis=1)]

    def predict_features(self, F: pd.DataFrame) -> np.ndarray:
        if self.task == "regression":
            return self.pipeline.predict(F)
        return self.labels_from_proba(self.pipeline.predict_proba(F))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.predict_features(self.features(X))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        if self.task == "regression":
            raise AttributeError("predict_proba is not available for regression")
        return self.predict_proba_features(self.features(X))

    def prediction_frame(self, F: pd.DataFrame) -> pd.DataFrame:
        """`prediction` plus one `proba_<class>` column per class, in input row order."""
        if self.task == "regression":
            return pd.DataFrame({"prediction": self.pipeline.predict(F)})
        proba = self.predict_proba_features(F)
        out = pd.DataFrame({"prediction": self.labels_from_proba(proba)})
        for i, cls in enumerate(self.classes or []):
            out[f"proba_{cls}"] = proba[:, i]
        return out


class BlendedModel(BaseEstimator):
    """A weighted average of fitted pipelines (greedy ensemble selection on out-of-fold predictions)."""

    def __init__(self, members: list[Any], weights: list[float], task: str) -> None:
        self.members = members
        self.weights = weights
        self.task = task

    @property
    def classes_(self) -> np.ndarray:
        return self.members[0].classes_

    @property
    def named_steps(self) -> dict[str, Any]:
        return self.members[0].named_steps

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        order = list(self.members[0].classes_)
        total = None
        for member, weight in zip(self.members, self.weights):
            proba = member.predict_proba(X)
            if list(member.classes_) != order:
                proba = proba[:, [list(member.classes_).index(c) for c in order]]
            total = proba * weight if total is None else total + proba * weight
        return total / sum(self.weights)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        if self.task != "regression":
            return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
        return sum(m.predict(X) * w for m, w in zip(self.members, self.weights)) / sum(self.weights)
