from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

PUBLIC_ACLS = {"public-read", "public-read-write", "website", "authenticated-read"}
_PUBLIC_GRANTEES = ("acs.amazonaws.com/groups/global/AllUsers", "acs.amazonaws.com/groups/global/AuthenticatedUsers")


@check(
    id="CNSEC-TF-002",
    title="S3 bucket ACL grants public access",
    severity=Severity.HIGH,
    target="terraform",
    resource_types=("aws_s3_bucket", "aws_s3_bucket_acl"),
    threats=("data-breach",),
    control="CTRL-PUBLIC-ACCESS",
    remediation=("Use acl = \"private\" (better: object_ownership = \"BucketOwnerEnforced\", which disables "
                 "ACLs) and serve public content through CloudFront with origin access control."),
    equivalents={"checkov": ("CKV_AWS_20", "CKV_AWS_57")},
)
def s3_public_acl(r: TfResource, ctx: object) -> Iterator[Hit]:
    """A public-read ACL lets anyone on the internet list and download the objects; public-read-write
    also lets them upload (malware hosting, bills) or overwrite data.

    Grants to the AllUsers/AuthenticatedUsers groups count too (``authenticated-read`` means any AWS
    account in the world, not yours).
    """
    acl = r.get("acl")
    if isinstance(acl, str) and acl in PUBLIC_ACLS:
        yield Hit(f"{r.address} uses the public canned ACL {acl!r}", line=r.line_of("acl"), location="acl",
                  fix='acl = "private"')
    grants = list(r.blocks("grant"))
    policy = r.get("access_control_policy")
    if isinstance(policy, list) and policy and isinstance(policy[0], dict):
        v = policy[0].get("grant")
        grants += [g for g in (v if isinstance(v, list) else [v]) if isinstance(g, dict)]
    for g in grants:
        text = str(g)
        if any(p in text for p in _PUBLIC_GRANTEES):
            yield Hit(f"{r.address} grants access to every user (AllUsers/AuthenticatedUsers group)",
                      line=r.line_of("grant") if "grant" in r.attr_lines else r.line_of("access_control_policy"),
                      location="grant", fix="remove the grant to the AllUsers/AuthenticatedUsers group")
            break
