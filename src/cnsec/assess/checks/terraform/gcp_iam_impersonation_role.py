from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import IAM_GRANTS, SERVICE_AGENT, impersonates, members_of
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-313",
    title="Role that can impersonate every service account granted on a GCP project, folder or organization",
    severity=Severity.HIGH,
    target="terraform",
    resource_types=IAM_GRANTS,
    threats=("privilege-escalation", "credential-abuse"),
    control="CTRL-IAM-LEAST-PRIVILEGE",
    remediation=("Grant roles/iam.serviceAccountUser or TokenCreator on the one service account needed "
                 "(google_service_account_iam_member), not on the whole project, folder or organization."),
    equivalents={"checkov": ("CKV_GCP_44", "CKV_GCP_45", "CKV_GCP_49")},
)
def gcp_iam_impersonation_role(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Acting as a service account (serviceAccountUser, TokenCreator, key admin, owner/editor and the
    service agents) granted above the service account reaches every service account below: the
    member gets the union of all their rights, often owner of the project.

    A ``*.serviceAgent`` role granted to Google's own service agents (service-<number>@…,
    …@gcp-sa-….iam.gserviceaccount.com) passes: that is how those services are set up.
    """
    role = r.get("role")
    if not isinstance(role, str) or not impersonates(role):
        return
    members = members_of(r)
    if role.endswith(".serviceAgent") and members and all(SERVICE_AGENT.search(m) for m in members):
        return  # a service agent role held by Google's own service agent: how the service works
    yield Hit(f"{r.address} grants {role}, which acts as every service account of its scope",
              line=r.line_of("role"), location="role",
              fix=('resource "google_service_account_iam_member" "user" {\n'
                   '  service_account_id = google_service_account.app.name\n'
                   '  role               = "roles/iam.serviceAccountUser"\n'
                   '  member             = "group:deployers@example.com"\n}'))
