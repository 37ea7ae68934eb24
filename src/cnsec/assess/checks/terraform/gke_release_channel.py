from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import first, known, may_have
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-331",
    title="GKE cluster not enrolled in a release channel",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("google_container_cluster",),
    threats=("container-escape", "cluster-takeover"),
    control="CTRL-HOST-HARDENING",
    remediation=('Add release_channel { channel = "REGULAR" } (or STABLE) so GKE keeps the control plane and '
                 "nodes patched."),
    equivalents={"checkov": ("CKV_GCP_70",)},
)
def gke_release_channel(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Outside a release channel the cluster stays on the version it was pinned to: Kubernetes and
    node-kernel vulnerabilities stay open until someone upgrades by hand."""
    block = first(r, "release_channel")
    if block is None and may_have(r, "release_channel"):
        return
    channel = (block or {}).get("channel")
    if (channel not in (None, "", "UNSPECIFIED")) or (channel is not None and not known(channel)):
        return
    yield Hit(f"{r.address} is in no release channel", line=r.line_of("release_channel"), location="release_channel",
              fix='release_channel {\n  channel = "REGULAR"\n}')
