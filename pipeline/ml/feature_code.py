"""Running a model's generated feature code, always in the process sandbox: a fresh sandbox run per call, or the
model's own warm worker (sandbox.Worker) once it is serving. Generated code never runs in the calling process.

Copied into every export bundle with runtime.py: it depends only on numpy, pandas, pyarrow and `sandbox`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

FEATURE_HARNESS = """
import pandas as pd
frame = pd.read_parquet("input.parquet")
out = user["transform"](frame.copy())
if not isinstance(out, pd.DataFrame) or len(out) != len(frame):
    raise ValueError("the feature code did not return one row per input row")
out = out.reset_index(drop=True)
out.columns = [str(c) for c in out.columns]
out.to_parquet("features.parquet")
"""
FEATURE_TIMEOUT_S = 300.0
# The same contract for a model's warm worker (sandbox.Worker): rows in and features out as Arrow IPC streams
WORKER_HARNESS = """
import pandas as pd
import pyarrow as pa


def _frame(payload):
    return pa.ipc.open_stream(payload).read_all().to_pandas()


def _bytes(frame):
    table = pa.Table.from_pandas(frame, preserve_index=False)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def handle(user, payload):
    frame = _frame(payload)
    out = user["transform"](frame.copy())
    if not isinstance(out, pd.DataFrame) or len(out) != len(frame):
        raise ValueError("the feature code did not return one row per input row")
    out = out.reset_index(drop=True)
    out.columns = [str(c) for c in out.columns]
    return _bytes(out)


def warm():
    frame = pd.DataFrame({"x": [1.5, None], "n": [1, 2], "s": ["a", None], "t": pd.to_datetime(["2020-01-01", None])})
    _frame(_bytes(frame.assign(y=frame["x"] * 2)))
"""
WORKER_SPARES = 2


class FeatureCodeError(ValueError):
    """The model's feature code failed on this data, or left nothing this process can verify."""


def sandboxed_features(code: str, X: pd.DataFrame, timeout_s: float = FEATURE_TIMEOUT_S) -> pd.DataFrame:
    """Apply generated feature code in a fresh process sandbox (sandbox.Executor: its own namespaces, Landlock,
    seccomp and limits, a workdir removed afterwards). Generated code never runs in this process: not at
    training time, not in the app or the CLI, not in an export's predict.py, serve.py or train.py, and not when
    anyone's own code loads model.joblib. Success is what this process verifies (a readable table with one row
    per input row), not what the child reports."""
    if not code.strip():
        return X.copy()
    import tempfile
    from pathlib import Path

    import sandbox

    work = Path(tempfile.mkdtemp(prefix="mlp-features-"))
    try:
        _write_input(X, work / "input.parquet")
        result = sandbox.Executor(work, timeout_s=timeout_s).run(code, harness=FEATURE_HARNESS)
        if not result.ok:
            raise FeatureCodeError(f"The feature code failed on this data: {result.error_type}: {result.error}")
        try:
            out = pd.read_parquet(work / "features.parquet")
        except (OSError, ValueError) as exc:
            raise FeatureCodeError(f"The feature code left no readable features: {exc}") from None
        if len(out) != len(X):
            raise FeatureCodeError(f"The feature code returned {len(out):,} rows for {len(X):,} input rows.")
        return out
    finally:
        sandbox.remove_tree(work)


def _write_input(X: pd.DataFrame, path: Any) -> None:
    """The aligned rows as Parquet (see arrow_rows)."""
    import pyarrow.parquet as pq

    pq.write_table(arrow_rows(X), path)


def arrow_rows(X: pd.DataFrame) -> Any:
    """The aligned rows as an Arrow table for the feature code. A text column holding numbers too (JSON records,
    spreadsheets) goes as text, as a CSV would have given it."""
    import pyarrow as pa

    try:
        return pa.Table.from_pandas(X, preserve_index=False)
    except (TypeError, ValueError):  # pyarrow's ArrowTypeError / ArrowInvalid: a column of mixed types
        pass
    text = {
        c: X[c].map(lambda v: v if v is None or isinstance(v, str) or v != v else plain_text(v))
        for c in X.columns
        if X[c].dtype == object
    }
    try:
        return pa.Table.from_pandas(X.assign(**text), preserve_index=False)
    except (TypeError, ValueError) as exc:
        raise FeatureCodeError(f"These rows cannot be handed to the feature code: {exc}") from None


def arrow_bytes(table: Any) -> bytes:
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def worker_features(worker: Any, X: pd.DataFrame) -> pd.DataFrame:
    """The feature code applied by a model's warm worker (a fresh sandboxed process per call, see sandbox.Worker);
    success is what this process reads back and checks, as in sandboxed_features."""
    import pyarrow as pa

    import sandbox

    try:
        answer = worker.call(arrow_bytes(arrow_rows(X)))
    except sandbox.WorkerError as exc:
        raise FeatureCodeError(f"The feature code failed on this data: {exc}") from None
    try:
        out = pa.ipc.open_stream(answer).read_all().to_pandas()
    except (OSError, ValueError) as exc:
        raise FeatureCodeError(f"The feature code left no readable features: {exc}") from None
    if len(out) != len(X):
        raise FeatureCodeError(f"The feature code returned {len(out):,} rows for {len(X):,} input rows.")
    return out


def plain_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
