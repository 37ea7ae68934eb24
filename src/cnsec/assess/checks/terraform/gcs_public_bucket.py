from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._tf import as_list
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
_PUBLIC_ACLS = {"publicRead", "publicReadWrite", "authenticatedRead"}


@check(
    id="CNSEC-TF-019",
    title="GCS bucket readable by allUsers / allAuthenticatedUsers",
    severity=Severity.HIGH,
    target="terraform",
    resource_types=("google_storage_bucket_iam_member", "google_storage_bucket_iam_binding",
                    "google_storage_bucket_acl", "google_storage_default_object_acl"),
    threats=("data-breach",),
    control="CTRL-PUBLIC-ACCESS",
    remediation=("Grant the bucket role to specific users, groups or service accounts; never to allUsers or "
                 "allAuthenticatedUsers. Set public_access_prevention = \"enforced\" on the bucket."),
    equivalents={"checkov": ("CKV_GCP_28",)},
)
def gcs_public_bucket(r: TfResource, ctx: object) -> Iterator[Hit]:
    """allUsers is anyone on the internet and allAuthenticatedUsers is anyone with a Google account:
    either makes the bucket's data public."""
    members = [str(m) for m in as_list(r.get("member")) + as_list(r.get("members"))
               + as_list(r.get("role_entity"))]
    public = [m for m in members if any(p in m for p in PUBLIC_MEMBERS)]
    acl = r.get("predefined_acl")
    if public:
        attr = "members" if "members" in r.attr_lines else (
            "member" if "member" in r.attr_lines else "role_entity")
        yield Hit(f"{r.address} grants access to {', '.join(public[:3])}", line=r.line_of(attr),
                  location="members", fix='members = ["group:data-readers@example.com"]')
    elif isinstance(acl, str) and acl in _PUBLIC_ACLS:
        yield Hit(f"{r.address} uses the public predefined ACL {acl!r}", line=r.line_of("predefined_acl"),
                  location="predefined_acl", fix='predefined_acl = "private"')
