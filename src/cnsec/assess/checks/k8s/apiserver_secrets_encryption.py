from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.k8s._control_plane import APISERVER, components
from cnsec.assess.workload import Workload
from cnsec.model.severity import Severity


@check(
    id="CNSEC-K8S-057",
    title="Secrets not encrypted at rest in etcd",
    severity=Severity.MEDIUM,
    target="workload",
    threats=("secret-access", "data-breach"),
    control="CTRL-ENCRYPT-AT-REST",
    remediation=("Start kube-apiserver with --encryption-provider-config pointing to an "
                 "EncryptionConfiguration that encrypts secrets (kms v2 or aescbc/secretbox)."),
    equivalents={"checkov": ("CKV_K8S_104",), "kubescape": ("C-0066", "C-0141")},
)
def apiserver_secrets_encryption(w: Workload, ctx: object) -> Iterator[Hit]:
    """Without an encryption provider Secrets are stored in etcd as base64: anyone with an etcd backup
    or access to its disk reads every credential of the cluster.

    Kubescape's C-0066 also judges managed clusters from cloud API descriptions (EKS/GKE/AKS
    ``ClusterDescribe``), an input cnsec does not read; for EKS in Terraform see CNSEC-TF-014.
    """
    for comp in components(w, APISERVER):
        if comp.has("encryption-provider-config"):
            continue
        yield Hit(f"kube-apiserver in container {comp.container.name!r} has no "
                  "--encryption-provider-config: Secrets are stored unencrypted in etcd",
                  path=comp.at("encryption-provider-config"), line=comp.line(w.res, ctx, "encryption-provider-config"),
                  patch=comp.set_flag_patch(w.res, "encryption-provider-config",
                                            "/etc/kubernetes/encryption-config.yaml"),
                  fix="--encryption-provider-config=/etc/kubernetes/encryption-config.yaml")
