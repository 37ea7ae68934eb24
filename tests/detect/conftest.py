from __future__ import annotations

from pathlib import Path

import pytest

CORPORA = Path(__file__).resolve().parents[2] / "../shared/corpora"
DETECT = CORPORA / "detect"


@pytest.fixture
def detect_corpus() -> Path:
    if not DETECT.is_dir():
        pytest.skip(f"detect corpus not found at {DETECT}")
    return DETECT.resolve()
