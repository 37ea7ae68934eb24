from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import setting
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-222",
    title="Azure storage account has no SAS expiration policy",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("azurerm_storage_account",),
    threats=("credential-abuse",),
    control="CTRL-KEY-ROTATION",
    remediation='Add sas_policy { expiration_period = "1.00:00:00" } (or disable shared keys altogether).',
    equivalents={"checkov": ("CKV2_AZURE_41",)},
)
def azure_storage_sas_expiry(r: TfResource, ctx: object) -> Iterator[Hit]:
    """A SAS token can be signed to last for years; a SAS expiration policy flags (and logs) tokens that
    outlive the period. An account that refuses shared keys has no SAS to bound and passes; an empty
    period bounds nothing.
    """
    keys, enabled = setting(r, "shared_access_key_enabled")
    if keys == "unknown" or (keys == "set" and str(enabled).lower() == "false"):
        return
    state, period = setting(r, "sas_policy", "expiration_period")
    if state == "unknown" or (state == "set" and str(period).strip()):
        return
    yield Hit(f"{r.address} accepts SAS tokens with no expiration policy", line=r.line_of("sas_policy"),
              location="sas_policy", fix='sas_policy {\n  expiration_period = "1.00:00:00"\n}')
