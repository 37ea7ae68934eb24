from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import first, is_true, sub
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-321",
    title="GKE cluster issues a client certificate",
    severity=Severity.HIGH,
    target="terraform",
    resource_types=("google_container_cluster",),
    threats=("credential-abuse", "cluster-takeover"),
    control="CTRL-CONTROL-PLANE",
    remediation="Set master_auth { client_certificate_config { issue_client_certificate = false } } (the default).",
    equivalents={"checkov": ("CKV_GCP_13",)},
)
def gke_client_certificate(r: TfResource, ctx: object) -> Iterator[Hit]:
    """The legacy client certificate is a cluster-admin credential that cannot be revoked short of
    rotating the cluster's CA, and it lands in the Terraform state.

    GKE issues none by default, so only ``issue_client_certificate = true`` fails (Checkov also
    fails clusters that leave the default).
    """
    cert = sub(first(r, "master_auth"), "client_certificate_config")
    if cert is not None and is_true(cert.get("issue_client_certificate")):
        yield Hit(f"{r.address} issues a client certificate", line=r.line_of("master_auth"),
                  location="master_auth.client_certificate_config", fix="issue_client_certificate = false")
