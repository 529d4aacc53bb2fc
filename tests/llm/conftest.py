"""Fixtures for the LLM-brain tests: a small dataset, a clean LLM environment and a fake server (helpers: support.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.llm.fakes import FakeLLMServer, Reply
from tests.llm.support import LLM_ENV


@pytest.fixture(scope="session")
def churn_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(7)
    n = 240
    age = rng.integers(18, 80, n)
    income = rng.normal(50, 12, n).round(2)
    city = rng.choice(["north", "south", "east"], n)
    churn = ((age > 50) ^ (rng.random(n) < 0.15)).astype(int)
    path = tmp_path_factory.mktemp("data") / "churn.csv"
    pd.DataFrame({"age": age, "income": income, "city": city, "churn": churn}).to_csv(path, index=False)
    return path


@pytest.fixture(autouse=True)
def clean_llm_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's real keys or settings."""
    for name in LLM_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake_server() -> Iterator[Any]:
    servers: list[FakeLLMServer] = []

    def start(flavor: str, script: dict[str, list[Reply]] | None = None, model: str = "fake-model") -> FakeLLMServer:
        server = FakeLLMServer(flavor, script, model).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
