"""Fixtures for the dashboard: the server's store seeded with real assessments and alerts (the server's
own fixtures come from tests/serve/conftest.py)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from cnsec.serve.context import ServeContext
from tests.serve.ui.seed import seed


@pytest.fixture
def seeded(serve_ctx: ServeContext, role_users: dict[str, str]) -> dict[str, Any]:
    return seed(serve_ctx, time.time())
