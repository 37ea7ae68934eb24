from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import first, known, may_have
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-329",
    title="Public Cloud DNS zone without DNSSEC",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("google_dns_managed_zone",),
    threats=("network-interception",),
    control="CTRL-TLS",
    remediation='Add dnssec_config { state = "on" } to the public zone.',
    equivalents={"checkov": ("CKV_GCP_16",)},
)
def gcp_dns_dnssec(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without DNSSEC resolvers cannot tell a forged answer from a real one: cache poisoning sends
    your users (and certificate validation by DNS) to an attacker. Private zones pass."""
    visibility = r.get("visibility")
    if visibility == "private" or (visibility is not None and not known(visibility)):
        return
    cfg = first(r, "dnssec_config")
    if cfg is None and may_have(r, "dnssec_config"):
        return
    state = (cfg or {}).get("state")
    if state in ("on", "transfer") or (state is not None and not known(state)):
        return
    yield Hit(f"{r.address} does not enable DNSSEC", line=r.line_of("dnssec_config"), location="dnssec_config",
              fix='dnssec_config {\n  state = "on"\n}')
