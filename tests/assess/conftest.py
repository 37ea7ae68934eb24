from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def assess_json(run_cli: Callable[..., tuple[int, str, str]]) -> Callable[..., dict[str, Any]]:
    def run(*paths: str | Path, extra: tuple[str, ...] = ()) -> dict[str, Any]:
        code, out, err = run_cli("assess", *map(str, paths), "-f", "json", "--fail-on", "none", *extra)
        assert code == 0, err
        data: dict[str, Any] = json.loads(out)
        return data

    return run


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
