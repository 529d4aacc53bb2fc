"""A model.joblib written by an earlier layout of the code still loads and predicts the same.

`data/model_saved_before_the_move.joblib` was written at commit 308cad3, when the runtime classes lived in
`pipeline.runtime` and `pipeline.models` (a blend of a 15-tree LightGBM and a linear model over the offline
brain's feature code, on a generated churn table); its pickle names those module paths. The expected
predictions were computed by that same code.
"""

from __future__ import annotations

import pickletools
from pathlib import Path

import joblib
import numpy as np
import pandas as pd

DATA = Path(__file__).parent / "data"


def _pickled_modules(path: Path) -> set[str]:
    """The `pipeline.*` modules a joblib file names (joblib pickles with protocol >= 4: STACK_GLOBAL reads
    the module from the string pushed just before the name)."""
    import lzma

    raw = lzma.decompress(path.read_bytes())
    strings = [arg for op, arg, _ in pickletools.genops(raw) if isinstance(arg, str)]
    return {s for s in strings if s.startswith("pipeline.")}


def test_a_model_saved_by_the_old_layout_still_predicts_the_same():
    model_file = DATA / "model_saved_before_the_move.joblib"
    assert {"pipeline.runtime", "pipeline.models"} <= _pickled_modules(model_file), (
        "the fixture must name the old paths"
    )
    model = joblib.load(model_file)
    rows = pd.read_csv(DATA / "model_saved_before_the_move_rows.csv")
    expected = pd.read_csv(DATA / "model_saved_before_the_move_expected.csv")

    got = model.prediction_frame(model.features(rows))

    assert list(got["prediction"]) == list(expected["prediction"])
    np.testing.assert_allclose(
        got[["proba_no", "proba_yes"]].to_numpy(), expected[["proba_no", "proba_yes"]].to_numpy(), rtol=0, atol=1e-9
    )
    assert list(model.predict(rows)) == list(expected["prediction"])
