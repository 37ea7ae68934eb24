from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import expect, is_true
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-236",
    title="Azure SQL database has no ledger",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("azurerm_mssql_database",),
    threats=("data-tampering",),
    control="CTRL-BACKUP-VERSIONING",
    remediation=("Set ledger_enabled = true on databases whose history must be provably untampered (it is set at "
                 "creation)."),
    equivalents={"checkov": ("CKV_AZURE_224",)},
)
def azure_mssql_db_ledger(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without a ledger an administrator (or an attacker with their rights) can change rows and their
    history without leaving cryptographic evidence.
    """
    yield from expect(r, "ledger_enabled", good=is_true, default=False, want="changes leave no tamper evidence",
                      fix="ledger_enabled = true")
