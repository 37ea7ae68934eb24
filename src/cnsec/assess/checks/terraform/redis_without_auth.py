from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._tf import truth
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-024",
    title="Memorystore Redis without AUTH",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("google_redis_instance",),
    threats=("unauthenticated-access", "data-breach"),
    control="CTRL-PUBLIC-ACCESS",
    remediation=("Set auth_enabled = true (and transit_encryption_mode = \"SERVER_AUTHENTICATION\"), and give "
                 "clients the AUTH string from Secret Manager."),
    equivalents={"checkov": ("CKV_GCP_95",)},
)
def redis_without_auth(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without AUTH any workload that can reach the VPC (a compromised pod, a peered network) can read
    and rewrite the cache, sessions and carts included; AUTH is off by default."""
    value = truth(r.get("auth_enabled"))
    if value is True or (value is None and r.get("auth_enabled") is not None):
        return
    yield Hit(f"{r.address} does not enable AUTH", line=r.line_of("auth_enabled"), location="auth_enabled",
              fix='auth_enabled            = true\ntransit_encryption_mode = "SERVER_AUTHENTICATION"')
