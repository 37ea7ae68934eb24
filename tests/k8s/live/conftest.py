"""A recorded cluster served on loopback, read through the real ``kubernetes`` client."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.k8s.live.apiserver import ApiServer, RecordedCluster, from_manifests

DATA = Path(__file__).parent / "data"
SHOP = DATA / "shop.yaml"
#: the made-up value of the fixture's Secret: it must never leave the recorded cluster
SECRET_VALUE = "Zr8-not-real-but-secret-Qx41"


@pytest.fixture
def shop() -> RecordedCluster:
    return from_manifests([SHOP])


Serve = Callable[..., Any]


@pytest.fixture
def serve(tmp_path: Path) -> Serve:
    """``with serve(cluster, forbidden=…, slow=…) as (server, kubeconfig):``"""

    @contextmanager
    def run(cluster: RecordedCluster, **options: Any) -> Iterator[tuple[ApiServer, Path]]:
        with ApiServer(cluster, **options) as server:
            yield server, server.kubeconfig(tmp_path / "kubeconfig", context="shop-prod")

    return run


def unreachable_kubeconfig(tmp_path: Path) -> Path:
    """A kubeconfig whose server is a closed loopback port (9: discard)."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "gone",
        "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:9"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "gone", "context": {"cluster": "c", "user": "u"}}]}))
    return kubeconfig
