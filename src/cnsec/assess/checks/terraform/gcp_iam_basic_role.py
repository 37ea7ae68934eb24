from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import BASIC_ROLES, IAM_GRANTS
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-312",
    title="Basic role (owner/editor/viewer) granted on a GCP project, folder or organization",
    severity=Severity.HIGH,
    target="terraform",
    resource_types=IAM_GRANTS,
    threats=("privilege-escalation", "data-breach"),
    control="CTRL-IAM-LEAST-PRIVILEGE",
    remediation="Grant predefined or custom roles that list what the member needs instead of owner, editor or viewer.",
    equivalents={"checkov": ("CKV_GCP_115", "CKV_GCP_116", "CKV_GCP_117")},
)
def gcp_iam_basic_role(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Basic roles predate IAM's fine-grained roles: editor can change almost every resource (and act
    as the project's service accounts), viewer can read almost all data; granted on a folder or the
    organization they reach every project below."""
    role = r.get("role")
    if isinstance(role, str) and role in BASIC_ROLES:
        yield Hit(f"{r.address} grants the basic role {role}", line=r.line_of("role"), location="role",
                  fix='role = "roles/<the predefined role the member needs>"  # e.g. roles/storage.objectViewer')
