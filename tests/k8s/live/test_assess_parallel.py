"""A large cluster's per-object checks run on several processes; the report must not depend on it."""

from __future__ import annotations

import json

import pytest

from cnsec.assess import cluster as live_assess
from cnsec.assess.config import Config
from cnsec.k8s.live.reader import connect, read_cluster
from cnsec.report.json_report import render
from tests.k8s.live.apiserver import RecordedCluster
from tests.k8s.live.conftest import Serve


def _report(read: object, workers: int) -> dict[str, object]:
    out = json.loads(render(live_assess.assess_cluster(read, Config(), workers=workers)))  # type: ignore[arg-type]
    out["summary"].pop("seconds")
    return dict(out)


def test_the_report_is_the_same_on_one_process_and_on_three(shop: RecordedCluster, serve: Serve,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live_assess, "PARALLEL_MIN_OBJECTS", 0)
    with serve(shop) as (_, kubeconfig):
        api, context = connect(kubeconfig=str(kubeconfig))
        read = read_cluster(api, context)
        api.close()
    one = _report(read, 1)
    three = _report(read, 3)
    assert one["findings"] and one["assets"]
    assert three == one
    api = next(a for a in three["assets"] if a["id"] == "Deployment/shop/api")  # type: ignore[attr-defined,index]
    assert api["attrs"]["pods"] == 3
