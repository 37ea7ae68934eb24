from __future__ import annotations

import re
from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import members_of
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

_USER_MANAGED_SA = re.compile(r"@[^@\s]+\.iam\.gserviceaccount\.com$")
_ADMIN = re.compile(r"(?:Admin|admin|^roles/editor$|^roles/owner$)")


@check(
    id="CNSEC-TF-314",
    title="Service account granted an admin, editor or owner role on a project",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("google_project_iam_member", "google_project_iam_binding"),
    threats=("privilege-escalation", "credential-abuse"),
    control="CTRL-IAM-LEAST-PRIVILEGE",
    remediation="Give the service account the narrow roles its workload uses; keep admin roles for people, with MFA.",
    equivalents={"checkov": ("CKV_GCP_42",)},
)
def gcp_iam_sa_admin_role(r: TfResource, ctx: object) -> Iterator[Hit]:
    """A service account's key or token is stolen from a VM, a pod or CI far more easily than a
    person's MFA-protected login; with an admin role that theft administers the project."""
    role = r.get("role")
    if not isinstance(role, str) or not _ADMIN.search(role):
        return
    sas = [m for m in members_of(r) if _USER_MANAGED_SA.search(m)]
    if sas:
        yield Hit(f"{r.address} grants {role} to {sas[0]}", line=r.line_of("role"), location="role",
                  fix='role = "roles/<the narrow role the workload uses>"')
