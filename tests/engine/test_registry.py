"""Model registry: lineage of every finished run, dataset filter, comparison, production mark, old stores."""

from __future__ import annotations

import json
import sqlite3

import pytest

from pipeline.artifacts.registry import compare_table, file_hash, score_frame
from pipeline.cli.main import main as cli_main
from pipeline.run.store import RunStore
from tests.engine.frames import churn_frame

pytestmark = pytest.mark.slow  # the whole module runs real pipelines, apps or browsers

OLD_SCHEMA = """CREATE TABLE runs (run_id TEXT PRIMARY KEY, created_at REAL NOT NULL, finished_at REAL, status TEXT NOT NULL,
dataset TEXT, target TEXT, task TEXT, metric TEXT, cv_score REAL, holdout_score REAL, brain TEXT, model TEXT,
duration_s REAL, run_dir TEXT NOT NULL, owner TEXT DEFAULT '');
INSERT INTO runs (run_id, created_at, status, run_dir) VALUES ('old-run', 1.0, 'finished', '/nowhere');"""


def test_registry_lineage_compare_production_and_old_store(tmp_path, capsys):
    store_path = tmp_path / "store.sqlite"
    con = sqlite3.connect(store_path)
    con.executescript(OLD_SCHEMA)  # a store written before the registry existed
    con.close()
    data = tmp_path / "churn.csv"
    churn_frame(n=300, seed=1).to_csv(data, index=False)
    other = tmp_path / "other.csv"
    churn_frame(n=300, seed=2).to_csv(other, index=False)
    runs = []
    for path, objective, out in ((data, "", "a"), (data, "recall on churners matters most", "b"), (other, "", "c")):
        assert (
            cli_main(
                [
                    "run",
                    str(path),
                    "--target",
                    "churn",
                    "--objective",
                    objective,
                    "--time-budget",
                    "8",
                    "--max-loops",
                    "0",
                    "--out",
                    str(tmp_path / out),
                    "--store",
                    str(store_path),
                ]
            )
            == 0
        )
        runs.append(json.loads((tmp_path / out / "lineage.json").read_text())["run_id"])
    capsys.readouterr()
    store = RunStore(store_path)
    assert store.get("old-run")["status"] == "finished"  # existing rows survive the migration
    entries = store.registry()
    assert {e["run_id"] for e in entries} == set(runs)
    lin = next(e for e in entries if e["run_id"] == runs[1])["lineage"]
    assert lin["dataset"]["hash"] == file_hash(data)
    assert lin["dataset"]["n_rows"] == 300 and lin["dataset"]["n_cols"] == 6 and "churn" in lin["dataset"]["columns"]
    assert lin["target"] == "churn" and lin["objective"].startswith("recall") and lin["brain"] == "offline"
    assert lin["metric"] != next(e for e in entries if e["run_id"] == runs[0])["lineage"]["metric"]
    assert "def transform" in lin["feature_code"] and lin["members"] and lin["members"][0]["params"]
    assert lin["cv_metrics"] and lin["holdout_metrics"] and "scikit-learn" in lin["versions"] and lin["created_at"]

    same = store.registry(file_hash(data))
    assert {e["run_id"] for e in same} == set(runs[:2])  # dataset filter

    table = compare_table(same)
    assert list(table.columns) == [e["run_id"] for e in same]
    for row in ("dataset hash", "objective", "metric", "CV score", "holdout score", "features", "hyperparameters"):
        assert row in table.index
    assert table.loc["dataset hash"].nunique() == 1
    assert table.loc["objective"].nunique() == 2
    chart = score_frame(same)
    assert set(chart["kind"]) == {"CV", "holdout"} and len(chart) == 4
    assert list(dict.fromkeys(chart["run"])) == runs[:2]  # oldest first

    # production: one per dataset, switching replaces the previous mark
    store.set_production(runs[0])
    store.set_production(runs[2])
    assert store.production(file_hash(data)) == runs[0]
    store.set_production(runs[1])
    assert store.production(file_hash(data)) == runs[1]
    flags = {e["run_id"]: e["production"] for e in store.registry()}
    assert flags == {runs[0]: False, runs[1]: True, runs[2]: True}

    # the CLI sees the same
    assert cli_main(["models", "--store", str(store_path), "--dataset", file_hash(data)[:10]]) == 0
    listing = capsys.readouterr().out
    assert runs[0] in listing and runs[1] in listing and runs[2] not in listing
    assert cli_main(["models", "--store", str(store_path), "--compare", runs[0], runs[1]]) == 0
    out = capsys.readouterr().out
    assert "hyperparameters" in out and runs[0] in out and "★ production" in out
    assert cli_main(["models", "--store", str(store_path), "--production", "missing-run"]) == 2
