"""AppTest: several uploads on the Observatory — main table, proposed keys with their numbers, the duplicate-row
warning that blocks running until resolved, and a run on the joined table. Real joins, real run: no mocks."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from app_support import ROOT, app_test

sys.path.insert(0, str(ROOT / "tests" / "engine"))
from test_joins import tables  # noqa: E402  (the same generated customers / accounts / transactions)

pytestmark = pytest.mark.slow  # the whole module runs real pipelines, apps or browsers


def _csv(name: str, frame: pd.DataFrame) -> tuple[str, bytes, str]:
    return name, frame.to_csv(index=False).encode(), "text/csv"


def _select(at, label_start: str):
    return next(s for s in at.selectbox if s.label.startswith(label_start))


def _run_button(at):
    return [b for b in at.button if b.label == "Run pipeline"]


def test_two_uploads_show_proposals_block_duplicates_and_run_on_the_joined_table():
    main, accounts, tx = tables()
    at = app_test()
    at.run()
    at.file_uploader(key="upload").set_value([_csv("customers.csv", main), _csv("tx.csv", tx)])
    at.run()
    assert not at.exception
    assert _select(at, "Main table").value == "customers.csv"
    proposals = next(d.value for d in at.dataframe if "overlap" in d.value.columns)
    assert (proposals.iloc[0]["main key"], proposals.iloc[0]["other key"]) == ("customer_id", "customer_id")
    assert not proposals.iloc[0]["unique in other"]
    counts = tx["customer_id"].value_counts()
    after = int(main["customer_id"].map(counts).fillna(1).sum())
    warning = next(w.value for w in at.warning if "Duplicate rows" in w.value)
    assert f"turn 300 rows into {after:,} (+{after - 300:,})" in warning
    assert not _run_button(at) and "Rows" not in [m.label for m in at.metric], "blocked: no preview, no Run"

    _select(at, "Resolve duplicate keys").set_value("first").run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Rows"] == "300" and metrics["Columns"] == "5", "preview of the joined table"
    assert _run_button(at)

    # a second file with a unique key under another name: proposed, no warning, joined columns in the preview
    at.file_uploader(key="upload").set_value([_csv("customers.csv", main), _csv("accounts.csv", accounts)])
    at.run()
    assert not at.exception
    proposals = next(d.value for d in at.dataframe if "overlap" in d.value.columns)
    top = proposals.iloc[0]
    assert (top["main key"], top["other key"], top["overlap"], top["unique in other"]) == (
        "customer_id",
        "CustomerID",
        "90%",
        True,
    )
    assert _select(at, "Key in customers.csv").value == "customer_id"
    assert _select(at, "Key in accounts.csv").value == "CustomerID"
    assert not [w for w in at.warning if "Duplicate rows" in w.value]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Rows"] == "300" and metrics["Columns"] == "6"
    target = _select(at, "Target column")
    assert target.value == "churn" and "balance" not in target.options, "the target comes from the main table"
    assert "customer_id" not in target.options, "nor is it a join key"

    at.number_input(key="budget").set_value(10)
    at.number_input(key="loops").set_value(0)
    at.button(key="run_pipeline").click().run()
    assert not at.exception
    run_id = at.session_state["run_id"]
    from ui.runner import get_runner

    handle = get_runner().get(run_id)
    deadline = time.time() + 150
    while not handle.done and time.time() < deadline:
        time.sleep(0.3)
    state = handle.snapshot()
    assert state.status == "finished", state.error
    assert state.config.dataset_name == "customers.csv + accounts.csv"
    assert Path(state.config.data_path).suffix == ".parquet"
    assert "balance" in pd.read_parquet(state.config.data_path).columns
    assert state.training.feature_importance[0]["feature"] == "balance"
