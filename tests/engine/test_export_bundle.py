"""The production bundle, proven outside the app: a fresh venv (no system site-packages) installs only the
bundle's pinned requirements; predict.py, serve.py over HTTP and the app's predictions agree; train.py
reproduces the holdout score. pip's wheel cache (~/.cache/pip) keeps the install quick after the first time.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile

import joblib
import numpy as np
import pandas as pd
import pytest

import sandbox
from pipeline.artifacts.export import zip_bytes
from pipeline.artifacts.predict import predict_file
from pipeline.cli.main import main as cli_main
from tests.engine.frames import churn_frame

pytestmark = pytest.mark.slow  # the whole module runs real pipelines, apps or browsers


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def test_export_bundle_in_fresh_venv(tmp_path):
    data = tmp_path / "churn.csv"
    churn_frame(n=400, seed=0).to_csv(data, index=False)
    run_dir = tmp_path / "run"
    assert (
        cli_main(
            [
                "run",
                str(data),
                "--target",
                "churn",
                "--time-budget",
                "20",
                "--max-loops",
                "0",
                "--out",
                str(run_dir),
                "--store",
                str(tmp_path / "store.sqlite"),
            ]
        )
        == 0
    )
    export = run_dir / "export"
    for name in (
        "model.joblib",
        "predict.py",
        "serve.py",
        "train.py",
        "training.json",
        "requirements.txt",
        "README.md",
        "pipeline/ml/runtime.py",
        "pipeline/ml/models.py",
        "sandbox/__init__.py",
    ):
        assert (export / name).is_file(), name
    reqs = (export / "requirements.txt").read_text().splitlines()
    pinned = {line.split("==")[0]: line.split("==")[1] for line in reqs if "==" in line}
    assert {"pandas", "numpy", "scikit-learn", "lightgbm", "fastapi", "uvicorn", "RestrictedPython"} <= set(pinned)
    assert all(not line or line.startswith("#") or "==" in line for line in reqs)
    names = zipfile.ZipFile(io.BytesIO(zip_bytes(export))).namelist()
    assert "export/serve.py" in names and "export/train.py" in names

    # a real fresh venv: nothing from this interpreter's site-packages
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    no_site = subprocess.run(
        [py, "-c", "import sys; import importlib.util as u; print(u.find_spec('pandas') is None)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert no_site.stdout.strip() == "True"
    pip = subprocess.run(
        [py, "-m", "pip", "install", "-q", "-r", str(export / "requirements.txt")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert pip.returncode == 0, pip.stderr[-2000:]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}

    # the app's predictions on new rows (sandboxed feature code)
    new = churn_frame(n=60, seed=5).drop(columns=["churn"])
    new_csv = tmp_path / "new.csv"
    new.to_csv(new_csv, index=False)
    app_preds = predict_file(run_dir, new_csv)

    # predict.py in the venv
    out_csv = tmp_path / "out.csv"
    res = subprocess.run(
        [py, str(export / "predict.py"), str(new_csv), str(out_csv)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    bundle_preds = pd.read_csv(out_csv)
    assert list(bundle_preds["prediction"].astype(str)) == list(app_preds["prediction"].astype(str))
    proba_cols = [c for c in app_preds.columns if c.startswith("proba_")]
    assert proba_cols
    np.testing.assert_allclose(bundle_preds[proba_cols].to_numpy(), app_preds[proba_cols].to_numpy(), atol=1e-9)

    # serve.py over HTTP on 127.0.0.1
    port = _free_port()
    server = subprocess.Popen(
        [py, str(export / "serve.py"), "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        health = None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as resp:
                    health = json.loads(resp.read())
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()[-2000:]
                time.sleep(0.3)
        assert health and health["status"] == "ok" and health["target"] == "churn"
        # the feature code runs in the bundle's process sandbox, and the host's layers are reported
        # (a model with feature code serves it from its own warm worker: a fresh sandboxed process per request)
        warm = bool(joblib.load(export / "model.joblib").feature_code.strip())
        assert health["sandbox"].startswith(("worker",) if warm else ("zygote", "subprocess"))
        assert "audithook" in health["sandbox"]
        assert health["sandbox_missing"] == sorted(sandbox.missing_layers(health["sandbox"]))
        records = json.loads(new.to_json(orient="records"))
        answer = _post(f"http://127.0.0.1:{port}/predict", {"records": records})
        assert [str(p) for p in answer["predictions"]] == list(app_preds["prediction"].astype(str))
        served = np.array([[row[c.removeprefix("proba_")] for c in proba_cols] for row in answer["probabilities"]])
        np.testing.assert_allclose(served, app_preds[proba_cols].to_numpy(), atol=1e-9)
        try:
            _post(f"http://127.0.0.1:{port}/predict", {"records": [{"plan": "basic"}]})
            raise AssertionError("missing columns must be refused")
        except urllib.error.HTTPError as exc:
            assert exc.code == 422
    finally:
        server.terminate()
        server.wait(timeout=10)

    # train.py reproduces the holdout score from the raw data
    res = subprocess.run(
        [py, str(export / "train.py"), str(data), str(tmp_path / "retrained")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    report = json.loads(res.stdout)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    metric = metrics["metric"]
    assert report["n_holdout"] == metrics["n_holdout"]
    assert abs(report["holdout"][metric] - metrics["holdout"][metric]) <= 0.01
    assert report["expected_holdout"][metric] == metrics["holdout"][metric]
    # ... and the delivered model: the same recipe refit on every row, bagged as the run did
    assert metrics["delivered"]["refit_on_all_rows"] and report["delivered_model_rows"] == metrics["delivered"]["rows"]
    assert metrics["delivered"]["rows"] == metrics["n_train"] + metrics["n_holdout"]
    retrained_csv = tmp_path / "retrained.csv"
    res = subprocess.run(
        [
            py,
            "-c",
            "import sys, joblib, pandas as pd; sys.path.insert(0, sys.argv[1]); "
            "m = joblib.load(sys.argv[2]); m.prediction_frame(m.features(pd.read_csv(sys.argv[3])))"
            ".to_csv(sys.argv[4], index=False)",
            str(export),
            str(tmp_path / "retrained" / "model.joblib"),
            str(new_csv),
            str(retrained_csv),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    np.testing.assert_allclose(
        pd.read_csv(retrained_csv)[proba_cols].to_numpy(), app_preds[proba_cols].to_numpy(), atol=1e-6
    )
