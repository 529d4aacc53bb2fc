"""Benchmark results as JSON lines: one run per line, appended as runs finish, so several commands add to one file."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def append(path: str | Path | None, rows: Iterable[dict[str, Any]]) -> None:
    """Append each row as a line (nothing when no path was given)."""
    if not path:
        return
    with open(path, "a") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")


def read(path: str | Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
