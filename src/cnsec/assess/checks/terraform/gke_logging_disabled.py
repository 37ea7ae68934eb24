from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-030",
    title="GKE cluster logging disabled",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("google_container_cluster",),
    threats=("defense-evasion",),
    control="CTRL-LOGGING",
    remediation=("Remove logging_service = \"none\" (default logging.googleapis.com/kubernetes) or set "
                 "logging_config { enable_components = [\"SYSTEM_COMPONENTS\", \"WORKLOADS\"] }."),
    equivalents={"checkov": ("CKV_GCP_1",)},
)
def gke_logging_disabled(r: TfResource, ctx: object) -> Iterator[Hit]:
    """With logging off the control plane and workload logs an investigation needs are never kept."""
    if r.get("logging_service") == "none":
        yield Hit(f"{r.address} sets logging_service = \"none\"", line=r.line_of("logging_service"),
                  location="logging_service", fix='logging_service = "logging.googleapis.com/kubernetes"')
