from __future__ import annotations

from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[2].parent.parent / "shared" / "corpora" / "vulns"
if not CORPUS.is_dir():
    CORPUS = Path("/work/shared/corpora/vulns")


def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip("corpora/vulns not present")
    return CORPUS
