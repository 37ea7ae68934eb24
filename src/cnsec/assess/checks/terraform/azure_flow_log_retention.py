from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import setting
from cnsec.assess.checks.terraform._tf import to_int, truth
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

MIN_DAYS = 90


@check(
    id="CNSEC-TF-255",
    title="Network watcher flow log is off or kept less than 90 days",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("azurerm_network_watcher_flow_log",),
    threats=("defense-evasion", "lateral-movement"),
    control="CTRL-LOGGING",
    remediation="Set enabled = true and retention_policy { enabled = true  days = 90 } (0 keeps them forever).",
    equivalents={"checkov": ("CKV_AZURE_12",)},
)
def azure_flow_log_retention(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Flow logs are the record of who talked to what; disabled, or deleted after days, they cannot
    show an intrusion found weeks later.
    """
    state, enabled = setting(r, "enabled")
    if state == "unknown":
        return
    if state == "set" and truth(enabled) is False:
        yield Hit(f"{r.address} is disabled", line=r.line_of("enabled"), location="enabled", fix="enabled = true")
        return
    kept, on = setting(r, "retention_policy", "enabled")
    count, days = setting(r, "retention_policy", "days")
    if "unknown" in (kept, count):
        return
    n = to_int(days)
    if kept == "absent" or truth(on) is False or (n is not None and 0 < n < MIN_DAYS):
        yield Hit(f"{r.address} keeps flow logs {n or 'no'} days", line=r.line_of("retention_policy"),
                  location="retention_policy",
                  fix=f"retention_policy {{\n  enabled = true\n  days    = {MIN_DAYS}\n}}")
