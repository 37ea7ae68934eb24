from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._tf import as_list, is_expr
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-014",
    title="EKS Secrets not envelope-encrypted with KMS",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("aws_eks_cluster",),
    threats=("secret-access",),
    control="CTRL-ENCRYPT-AT-REST",
    remediation=("Add encryption_config { resources = [\"secrets\"] provider { key_arn = "
                 "aws_kms_key.eks.arn } } to the cluster."),
    equivalents={"checkov": ("CKV_AWS_58",)},
)
def eks_secrets_encryption(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without envelope encryption Kubernetes Secrets sit in etcd protected only by EBS encryption; with
    a customer-managed KMS key, access to them can be audited and revoked."""
    for block in r.blocks("encryption_config"):
        if is_expr(block.get("resources")) or "secrets" in [str(x) for x in as_list(block.get("resources"))]:
            return  # an unknown list of resources may well name the secrets
    yield Hit(f"{r.address} does not encrypt Kubernetes Secrets with a KMS key", line=r.line,
              location="encryption_config",
              fix=('encryption_config {\n  resources = ["secrets"]\n  provider {\n'
                   "    key_arn = aws_kms_key.eks.arn\n  }\n}"))
