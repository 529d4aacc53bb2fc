"""Reading objectives and data: the rules users rely on when they type a goal or drop a file."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.ml.objective import finalise_objective, parse_objective
from pipeline.tables.reader import DataError, infer_target, infer_task, read_table, validate_target


@pytest.mark.parametrize(
    "text,metric,threshold",
    [
        ("predict churn; recall on churners matters most", "f2", True),
        ("avoid false positives", "f0.5", True),
        ("maximise balanced accuracy", "balanced_accuracy", False),
        ("", "roc_auc", False),
    ],
)
def test_binary_objectives_pick_a_metric(text, metric, threshold):
    obj = finalise_objective(parse_objective(text, ["churn", "age"]), "binary")
    assert obj.metric == metric
    assert obj.tune_threshold is threshold


def test_objective_names_the_target_and_regression_defaults_to_rmse():
    obj = parse_objective("Predict price from the house features; minimise RMSE", ["sqft", "price", "rooms"])
    assert obj.target == "price"
    assert finalise_objective(obj, "regression").metric == "rmse"
    assert finalise_objective(parse_objective("", ["a"]), "regression").greater_is_better is False


def test_a_classification_metric_on_regression_falls_back_with_a_reason():
    obj = finalise_objective(parse_objective("recall matters", ["y"]), "regression")
    assert obj.metric == "rmse" and "does not apply" in obj.explanation


def test_task_inference():
    assert infer_task(pd.Series([0, 1, 1, 0])) == "binary"
    assert infer_task(pd.Series(["a", "b", "c", "a"])) == "multiclass"
    assert infer_task(pd.Series(np.linspace(0, 1, 500))) == "regression"


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "name,data,needle",
    [
        ("empty.csv", b"", "empty"),
        ("header.csv", b"a,b,c\n", "no data rows"),
        ("binary.csv", bytes(range(256)) * 20, "binary"),
        ("dupes.csv", b"a,a,b\n1,2,3\n4,5,6\n", "Duplicate column"),
        ("blank.csv", b"a,,b\n1,2,3\n4,5,6\n", "blank name"),
        ("ragged.csv", b"a,b\n1,2\n3,4,5,6\n7,8\n", "different numbers of fields"),
        ("nested.json", b'{"a": {"b": 1}}', "not tabular"),
    ],
)
def test_bad_files_get_one_clear_message(tmp_path, name, data, needle):
    with pytest.raises(DataError, match=needle):
        read_table(_write(tmp_path, name, data))


def test_semicolon_latin1_and_thousands_separators_are_read(tmp_path):
    text = "name;amount;city\n" + "\n".join(f'n{i};"1,{i:03d}";Zürich' for i in range(30))
    frame = read_table(_write(tmp_path, "x.csv", text.encode("latin-1")))
    assert list(frame.columns) == ["name", "amount", "city"]
    assert frame["amount"].iloc[5] == 1005
    assert frame["city"].iloc[0] == "Zürich"


@pytest.mark.parametrize(
    "values,needle",
    [
        ([1] * 30, "constant"),
        ([np.nan] * 30, "empty"),
        ([0] * 29 + [1], "single row"),
    ],
)
def test_unlearnable_targets_are_refused(values, needle):
    frame = pd.DataFrame({"x": range(30), "y": values})
    with pytest.raises(DataError, match=needle):
        validate_target(frame, "y", "binary" if needle != "empty" else "binary")


def test_missing_target_name_lists_columns():
    with pytest.raises(DataError, match="not in the table"):
        infer_target(pd.DataFrame({"a": [1], "b": [2]}), "zzz")


def test_a_large_csv_types_its_columns_as_a_small_one_does(tmp_path):
    """Files above the fast-path size go through pyarrow's reader; dates and times must still arrive as text
    (as from the careful path and from Parquet), not as one Python date object per cell."""
    from pipeline.tables import reader as data

    rng = np.random.default_rng(3)
    n = 60_000
    frame = pd.DataFrame(
        {
            "day": pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D"),
            "amount": rng.normal(100, 30, n).round(2),
            "city": rng.choice(["Oslo", "Lima", "Pune"], n),
            "y": rng.integers(0, 2, n),
        }
    )
    frame["day"] = frame["day"].dt.strftime("%Y-%m-%d")
    frame["stamp"] = frame["day"] + " 12:30:00"
    big = tmp_path / "big.csv"
    frame.to_csv(big, index=False)
    assert big.stat().st_size > data.FAST_CSV_BYTES
    small = tmp_path / "small.csv"
    frame.head(500).to_csv(small, index=False)
    fast, careful = read_table(big), read_table(small)
    for col in frame.columns:
        assert str(fast[col].dtype) == str(careful[col].dtype), col
    assert fast["day"].head(500).tolist() == frame["day"].head(500).tolist()
    assert fast["stamp"].head(500).tolist() == frame["stamp"].head(500).tolist()


def test_a_large_csv_reads_as_the_careful_path_reads_it(tmp_path, monkeypatch):
    """The fast path fixes the first block's column types; gaps in text columns, pandas' missing-value
    tokens, a column empty for the whole first block and an integer column that turns decimal in the last
    block must all come out exactly as pandas' own reader gives them for the same file."""
    from pipeline.tables import reader as data

    rng = np.random.default_rng(5)
    n = 120_000
    frame = pd.DataFrame(
        {
            "city": rng.choice(["Oslo", "Lima", "Pune, IN", ""], n),
            "amount": rng.normal(100, 30, n).round(2),
            "count": rng.integers(0, 50, n).astype(str),
            "late_note": np.where(np.arange(n) < 100_000, "", rng.choice(["a", "b"], n)),
            "flag": rng.choice(["True", "False"], n),
            "day": (pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D")).strftime(
                "%Y-%m-%d"
            ),
            "y": rng.integers(0, 2, n),
        }
    )
    frame.loc[rng.choice(n, 3000), "city"] = "NA"
    frame.loc[rng.choice(n, 50), "city"] = "None"
    frame.loc[rng.choice(n, 3000), "amount"] = np.nan
    frame.loc[n - 5, "count"] = "2.5"
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    assert path.stat().st_size > data.FAST_CSV_BYTES
    fast = read_table(path)
    monkeypatch.setattr(data, "FAST_CSV_BYTES", 10**12)
    careful = read_table(path)
    pd.testing.assert_frame_equal(fast, careful)
    assert fast["city"].isna().sum() == (frame["city"].isin(["", "NA", "None"])).sum() > 3000
    assert fast["count"].dtype == np.float64 and fast["late_note"].notna().sum() == (frame["late_note"] != "").sum()
