from __future__ import annotations

import pytest

from cnsec.data.scan.engine import Engine, hyperscan_available


@pytest.fixture(scope="session", params=["re2", "hyperscan"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "hyperscan" and not hyperscan_available():
        pytest.skip("hyperscan is not installed (pip install 'cnsec[hyperscan]')")
    return str(request.param)


@pytest.fixture(scope="session")
def engine(backend: str) -> Engine:
    return Engine(backend=backend)
