"""What the Feature Engineer refuses in generated features, with a message the brain can act on."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from pipeline.phases.features import _validator


def _outcome(tmp_path, frame: pd.DataFrame, rowwise: bool = True):
    frame.to_parquet(tmp_path / "features_train.parquet")
    (tmp_path / "features_meta.json").write_text(json.dumps({"columns": list(frame.columns), "rowwise": rowwise}))
    return tmp_path


def test_clean_features_pass(tmp_path):
    frame = pd.DataFrame({"a": [1.0, np.nan, 3.0], "n": [1, 2, 3], "s": ["x", None, "y"]})
    assert _validator("target")(_outcome(tmp_path, frame), "def transform(df):\n    return df\n") is None


def test_infinities_are_named_by_column(tmp_path):
    frame = pd.DataFrame(
        {
            "ok": [1.0, 2.0, 3.0],
            "ratio": [1.0, np.inf, 2.0],
            "logs": np.array([-np.inf, 0, 1], dtype=np.float32),
            "s": ["x", "y", "z"],
        }
    )
    message = _validator("target")(_outcome(tmp_path, frame), "def transform(df):\n    return df\n")
    assert message.startswith("transform produced infinite values in column(s) ratio, logs")


def test_empty_columns_target_use_and_whole_table_statistics_are_refused(tmp_path):
    check = _validator("target")
    code = "def transform(df):\n    return df\n"
    assert "all-NaN column(s) e" in check(
        _outcome(tmp_path, pd.DataFrame({"a": [1.0, 2.0], "e": [np.nan, np.nan]})), code
    )
    assert "target column 'target'" in check(_outcome(tmp_path, pd.DataFrame({"target": [1, 2]})), code)
    assert "not row-wise" in check(_outcome(tmp_path, pd.DataFrame({"a": [1, 2]}), rowwise=False), code)
