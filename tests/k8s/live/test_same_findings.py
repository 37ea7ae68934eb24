"""Done-when of #14: assessing the live cluster gives the findings of the manifests it was built from.

The recorded cluster holds the corpus manifests (microservices-demo's release manifests and Istio
objects, Kubernetes Goat's scenarios: 41 objects of 15 kinds incl. custom resources) as a control
plane stores them, plus the ReplicaSets, Jobs and pods their controllers would create; it is read
through the real client. Findings are compared by (check, asset, field path, severity): their
``source`` differs by design (``cluster://…`` instead of file:line).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cnsec.assess.cluster import assess_cluster
from cnsec.assess.config import Config
from cnsec.assess.engine import assess
from cnsec.k8s.live.reader import connect, read_cluster
from tests.k8s.live.apiserver import from_manifests
from tests.k8s.live.conftest import Serve

CORPUS = Path(__file__).resolve().parents[3] / "../shared/corpora/assess"
#: CNSEC-K8S-059 reads a Secret's values, which the reader never asks for (metadata only)
NEEDS_SECRET_DATA = {"CNSEC-K8S-059"}


def _manifests() -> list[Path]:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpora/assess is not present")
    demo = CORPUS / "microservices-demo/release"
    return [demo / "kubernetes-manifests.yaml", demo / "istio-manifests.yaml",
            *sorted((CORPUS / "kubernetes-goat/scenarios").glob("*/*.yaml"))]


@pytest.mark.corpus
def test_the_cluster_gives_the_findings_of_the_manifests_it_was_built_from(serve: Serve) -> None:
    paths = _manifests()
    cluster = from_manifests(paths)
    with serve(cluster) as (_, kubeconfig):
        api, context = connect(kubeconfig=str(kubeconfig))
        read = read_cluster(api, context, page_size=7)  # several pages for most lists
        api.close()
    assert not read.problems
    live = assess_cluster(read, Config())
    files = assess([str(p) for p in paths], Config(), workers=1)

    def key(f: object) -> tuple[str, str, str, int]:
        return (f.check_id, f.asset_id, f.location, int(f.severity))  # type: ignore[attr-defined]

    live_keys = {key(f) for f in live.findings}
    file_keys = {key(f) for f in files.findings}
    assert len(live_keys) > 300
    assert live_keys - file_keys == set()
    assert {k[0] for k in file_keys - live_keys} == NEEDS_SECRET_DATA
    assert {f.id for f in live.findings} < {f.id for f in files.findings}  # same ids: baselines carry over
    assert read.stats["folded_pods"] > 20 and "Pod" not in read.stats["kinds"]
