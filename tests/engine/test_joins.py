"""Several files: join-key proposals (names, overlap, uniqueness), the duplicate-row flag, and the CLI
(`run --join ... --on ...`, `joins`) joining before the run and refusing a duplicating key with exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.cli.main import main
from pipeline.tables.joins import DuplicateJoinError, check_target, evaluate_key, join_tables, propose_keys

ROOT = Path(__file__).resolve().parents[2]


def tables(n: int = 300, seed: int = 1):
    """customers (main, target churn) / accounts (one row per customer, holds the signal) / tx (many per customer)."""
    rng = np.random.default_rng(seed)
    ids = np.arange(1000, 1000 + n)
    balance = rng.normal(size=n)
    main = pd.DataFrame(
        {
            "customer_id": ids,
            "age": rng.integers(18, 80, n),
            "plan": rng.choice(["a", "b"], n),
            "churn": np.where(balance + rng.normal(0, 0.3, n) > 0.3, "yes", "no"),
        }
    )
    # other spelling of the key, shuffled order, 10% of the customers missing, ids stored as text
    keep = rng.permutation(n)[: int(n * 0.9)]
    accounts = pd.DataFrame(
        {"CustomerID": [str(i) for i in ids[keep]], "balance": balance[keep], "plan": rng.choice(["x", "y"], len(keep))}
    )
    tx = pd.DataFrame({"customer_id": rng.choice(ids, 700), "amount": rng.normal(size=700)})
    return main, accounts, tx


def test_proposals_rank_name_overlap_and_uniqueness():
    main, accounts, tx = tables()
    best = propose_keys(main, accounts)[0]
    assert (best.main_key, best.other_key) == ("customer_id", "CustomerID")
    assert best.name_match, "case/underscore-insensitive name match"
    assert best.overlap == pytest.approx(0.9) and best.matched_rows == pytest.approx(0.9)
    assert best.other_unique and best.uniqueness == 1.0 and best.growth == 0

    top = propose_keys(main, tx)[0]
    assert (top.main_key, top.other_key) == ("customer_id", "customer_id")
    counts = tx["customer_id"].value_counts()
    assert not top.other_unique and top.duplicated_keys == int((counts > 1).sum())
    assert top.uniqueness == pytest.approx(len(counts) / len(tx))
    expected_rows = int(main["customer_id"].map(counts).fillna(1).sum())
    assert top.rows_after == expected_rows and top.growth == expected_rows - len(main) > 0
    assert "would duplicate rows" in top.describe()


def test_value_overlap_finds_a_key_with_another_name():
    main, accounts, _ = tables()
    other = accounts.rename(columns={"CustomerID": "acct_owner"})
    best = propose_keys(main, other)[0]
    assert (best.main_key, best.other_key) == ("customer_id", "acct_owner")
    assert not best.name_match and best.overlap == pytest.approx(0.9)
    # a binary column never becomes a value-only key
    assert all(p.main_key != "churn" for p in propose_keys(main, other, limit=20))


def test_duplicate_join_is_flagged_and_resolved_only_when_asked():
    main, accounts, tx = tables()
    spec = {"name": "tx.csv", "frame": tx, "main_key": "customer_id", "other_key": "customer_id"}
    with pytest.raises(DuplicateJoinError) as err:
        join_tables(main, [spec], "main.csv")
    p = evaluate_key(main, tx, "customer_id", "customer_id")
    assert err.value.proposal.growth == p.growth and f"+{p.growth:,}" in str(err.value)
    first = join_tables(main, [{**spec, "dedup": "first"}], "main.csv").frame
    mean = join_tables(main, [{**spec, "dedup": "mean"}], "main.csv").frame
    assert len(first) == len(mean) == len(main)
    cid = int(tx["customer_id"].value_counts().index[0])
    assert mean.loc[mean.customer_id == cid, "amount"].item() == pytest.approx(tx[tx.customer_id == cid].amount.mean())
    assert first.loc[first.customer_id == cid, "amount"].item() == tx[tx.customer_id == cid].amount.iloc[0]


def test_left_join_keeps_rows_suffixes_clashes_and_keeps_the_target_main():
    main, accounts, _ = tables()
    accounts = accounts.assign(churn="leak")
    result = join_tables(
        main,
        [{"name": "accounts.csv", "frame": accounts, "main_key": "customer_id", "other_key": "CustomerID"}],
        "main.csv",
        target="churn",
    )
    out = result.frame
    assert len(out) == len(main) and list(out["customer_id"]) == list(main["customer_id"]), "order and rows kept"
    assert out["balance"].isna().sum() == len(main) - len(accounts), "missing keys keep the main row"
    assert "plan_accounts" in out.columns and list(out["plan"]) == list(main["plan"])
    assert list(out["churn"]) == list(main["churn"]) and "leak" not in set(out["churn"])
    assert result.origin["balance"] == "accounts.csv"
    check_target(result, "churn")
    with pytest.raises(Exception, match="must be a column of the main table"):
        check_target(result, "balance")
    with pytest.raises(Exception, match="is the target"):
        join_tables(
            main,
            [{"name": "a", "frame": accounts, "main_key": "churn", "other_key": "churn"}],
            "main.csv",
            target="churn",
        )


def _write(tmp_path: Path):
    main, accounts, tx = tables()
    paths = {}
    for name, frame in (("main.csv", main), ("accounts.csv", accounts), ("tx.csv", tx)):
        paths[name] = tmp_path / name
        frame.to_csv(paths[name], index=False)
    return paths


@pytest.mark.slow
def test_cli_run_joins_two_csvs_and_the_model_uses_the_second_file(tmp_path):
    paths = _write(tmp_path)
    env = dict(os.environ, MLPIPELINE_HOME=str(tmp_path / "home"), OPENBLAS_NUM_THREADS="1")
    out = tmp_path / "run"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "run",
            str(paths["main.csv"]),
            "--join",
            str(paths["accounts.csv"]),
            "--on",
            "customer_id=CustomerID",
            "--join",
            str(paths["tx.csv"]),
            "--allow-duplicates",
            "first",
            "--time-budget",
            "12",
            "--max-loops",
            "0",
            "--out",
            str(out),
            "--store",
            str(tmp_path / "s.sqlite"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Join tx.csv: using the top proposal customer_id" in proc.stderr, "--on omitted: the proposal is printed"
    state = json.loads((out / "run.json").read_text())["state"]
    data_path = Path(state["config"]["data_path"])
    assert data_path.suffix == ".parquet" and data_path.is_relative_to(tmp_path / "home" / "uploads")
    joined = pd.read_parquet(data_path)
    assert len(joined) == 300 and {"balance", "plan_accounts", "amount"} <= set(joined.columns)
    assert state["config"]["target"] == "churn" and state["status"] == "finished"
    top = state["training"]["feature_importance"][0]["feature"]
    assert top == "balance", state["training"]["feature_importance"][:3]
    # holdout rows come from the joined table, split after the join
    hold = pd.read_parquet(out / "data" / "holdout_X.parquet")
    assert "balance" in hold.columns and "churn" not in hold.columns and len(hold) == 60


def test_cli_refuses_a_duplicating_key_with_exit_2(tmp_path, capsys, monkeypatch):
    paths = _write(tmp_path)
    monkeypatch.setenv("MLPIPELINE_HOME", str(tmp_path / "home"))
    out = tmp_path / "run"
    code = main(
        [
            "run",
            str(paths["main.csv"]),
            "--join",
            str(paths["tx.csv"]),
            "--on",
            "customer_id",
            "--time-budget",
            "10",
            "--out",
            str(out),
            "--store",
            str(tmp_path / "s.sqlite"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "Traceback" not in err
    growth = evaluate_key(*[pd.read_csv(paths[n]) for n in ("main.csv", "tx.csv")], "customer_id", "customer_id").growth
    assert "'customer_id' would duplicate rows" in lines[0] and f"(+{growth:,})" in lines[0]
    assert "--allow-duplicates first" in lines[0]
    assert not out.exists() and not (tmp_path / "home" / "uploads").exists(), "nothing written"


def test_cli_joins_verb_prints_proposals(tmp_path, capsys):
    paths = _write(tmp_path)
    assert main(["joins", str(paths["main.csv"]), str(paths["accounts.csv"]), str(paths["tx.csv"])]) == 0
    out = capsys.readouterr().out
    assert "main.csv <- accounts.csv" in out and "--on customer_id=CustomerID" in out and "overlap  90.0%" in out
    tx_part = out.split("main.csv <- tx.csv")[1]
    assert "unique no" in tx_part and "DUPLICATES +" in tx_part
