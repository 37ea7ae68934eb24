from __future__ import annotations

import os
import re
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

    GKE issues none by default (since 1.12), so a cluster that leaves the default fails only when the
    configuration reads its client certificate or key (``….master_auth.0.client_key``), written for a
    cluster that has one; Checkov fails every cluster that leaves the default.
    """
    cert = sub(first(r, "master_auth"), "client_certificate_config")
    if cert is not None and is_true(cert.get("issue_client_certificate")):
        yield Hit(f"{r.address} issues a client certificate", line=r.line_of("master_auth"),
                  location="master_auth.client_certificate_config", fix="issue_client_certificate = false")
    elif cert is None and _uses_client_certificate(r, ctx):
        yield Hit(f"{r.address} has its client certificate read by this configuration (master_auth.0.client_key): "
                  "it relies on the legacy cluster-admin certificate", line=r.line,
                  location="master_auth.client_certificate_config",
                  fix=("master_auth {\n  client_certificate_config {\n    issue_client_certificate = false\n  }\n}\n"
                       "# and authenticate providers with data.google_client_config.default.access_token"))


def _uses_client_certificate(r: TfResource, ctx: object) -> bool:
    """Whether a file of the cluster's folder reads its client certificate or key (a provider block, an
    output): such a configuration was written for a cluster that issues one."""
    inv = getattr(ctx, "inventory", None)
    texts = getattr(inv, "texts", None)
    if not isinstance(texts, dict):
        return False
    ref = re.compile(rf"\b{re.escape(r.type)}\.{re.escape(r.name)}\.master_auth(?:\.0|\[0\])"
                     r"\.client_(?:key|certificate)\b")
    here = os.path.dirname(r.file)
    return any(os.path.dirname(str(f)) == here and ref.search(t) for f, t in texts.items())
