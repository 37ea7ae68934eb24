from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import expect, is_true
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-256",
    title="Linux VM accepts SSH password logins",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("azurerm_linux_virtual_machine", "azurerm_linux_virtual_machine_scale_set",
                    "azurerm_virtual_machine"),
    threats=("credential-abuse",),
    control="CTRL-IAM-LEAST-PRIVILEGE",
    remediation="Set disable_password_authentication = true and log in with admin_ssh_key (or Entra ID SSH login).",
    equivalents={"checkov": ("CKV_AZURE_149", "CKV_AZURE_1")},
)
def azure_vm_password_login(r: TfResource, ctx: object) -> Iterator[Hit]:
    """A password login can be guessed, sprayed and reused from another breach; an SSH key cannot.
    The provider's default (true) passes; only an explicit false fails.
    """
    prefix = ("os_profile_linux_config",) if r.type == "azurerm_virtual_machine" else ()
    if prefix and not r.blocks(prefix[0]):
        return  # a Windows VM (os_profile_windows_config): RDP is another check
    yield from expect(r, *prefix, "disable_password_authentication", good=is_true, default=True,
                      want="SSH accepts passwords", fix="disable_password_authentication = true")
