"""Fixtures for the engine tests (the generated tables are in frames.py)."""

from __future__ import annotations

import pytest

from tests.engine.frames import churn_frame


@pytest.fixture
def churn_csv(tmp_path):
    path = tmp_path / "churn.csv"
    churn_frame().to_csv(path, index=False)
    return path


@pytest.fixture(autouse=True)
def offline_only(monkeypatch):
    """Engine tests use the offline brain even on a machine whose shell has LLM keys (CLI default is auto)."""
    for name in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "LLM_PROVIDER"):
        monkeypatch.delenv(name, raising=False)
