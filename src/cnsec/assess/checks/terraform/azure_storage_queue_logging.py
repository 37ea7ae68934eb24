from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import linked, setting
from cnsec.assess.checks.terraform._tf import truth
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-220",
    title="Azure storage account does not log queue reads, writes and deletes",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("azurerm_storage_account",),
    threats=("defense-evasion",),
    control="CTRL-LOGGING",
    remediation=("Add queue_properties { logging { read = true  write = true  delete = true  version = \"1.0\" } } "
                 "(azurerm_storage_account_queue_properties in azurerm 4)."),
    equivalents={"checkov": ("CKV_AZURE_33",)},
)
def azure_storage_queue_logging(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Queue messages often carry work orders and tokens; without Storage Analytics logging there is no
    record of who read, added or deleted them. Only general-purpose accounts have queues.
    """
    kind_state, kind = setting(r, "account_kind")
    if kind_state == "unknown" or (kind_state == "set" and str(kind) not in ("Storage", "StorageV2")):
        return
    state, logging = setting(r, "queue_properties", "logging")
    if state == "unknown":
        return
    if state == "set" and isinstance(logging, dict):
        flags = [truth(logging.get(k)) for k in ("read", "write", "delete")]
        if None in flags and any(isinstance(logging.get(k), str) for k in ("read", "write", "delete")):
            return
        if all(flags):
            return
    if linked(ctx, r, ("azurerm_storage_account_queue_properties",), "storage_account_id") is not False:
        return
    yield Hit(f"{r.address} does not log queue read, write and delete requests", line=r.line_of("queue_properties"),
              location="queue_properties.logging",
              fix=('queue_properties {\n  logging {\n    read    = true\n    write   = true\n    delete  = true\n'
                   '    version = "1.0"\n  }\n}'))
