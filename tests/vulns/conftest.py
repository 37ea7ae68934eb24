from __future__ import annotations

from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parents[2]
#: beside the repository (/work/main -> /work/shared) or beside the folder of worktrees (/work/wt/NAME)
CANDIDATES = (_REPO.parent / "shared/corpora/vulns", _REPO.parent.parent / "shared/corpora/vulns")


def corpus() -> Path:
    found = next((c for c in CANDIDATES if c.is_dir()), None)
    if found is None:
        pytest.skip("corpora/vulns not present")
    return found
