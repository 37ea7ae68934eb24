from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.k8s._control_plane import APISERVER, components
from cnsec.k8s.resource import K8sResource
from cnsec.k8s.workload import WORKLOAD_KINDS, as_workload
from cnsec.model.severity import Severity


@check(
    id="CNSEC-K8S-057",
    title="Secrets not encrypted at rest in etcd",
    severity=Severity.MEDIUM,
    target="k8s",
    kinds=(*sorted(WORKLOAD_KINDS), "EncryptionConfiguration"),
    threats=("secret-access", "data-breach"),
    control="CTRL-ENCRYPT-AT-REST",
    remediation=("Start kube-apiserver with --encryption-provider-config pointing to an "
                 "EncryptionConfiguration whose first provider for secrets encrypts (kms v2, aescbc or "
                 "secretbox), not identity."),
    equivalents={"checkov": ("CKV_K8S_104",), "kubescape": ("C-0066", "C-0141")},
)
def apiserver_secrets_encryption(res: K8sResource, ctx: object) -> Iterator[Hit]:
    """Without an encryption provider Secrets are stored in etcd as base64: anyone with an etcd backup
    or access to its disk reads every credential of the cluster.

    An ``EncryptionConfiguration`` in the input fails when the first provider for secrets is
    ``identity`` (the first provider is the one that writes). Kubescape's C-0066 also judges managed
    clusters from cloud API descriptions (EKS/GKE/AKS ``ClusterDescribe``), an input cnsec does not
    read; for EKS in Terraform see CNSEC-TF-014.
    """
    if res.kind == "EncryptionConfiguration":
        yield from _config(res)
        return
    w = as_workload(res)
    if w is None:
        return
    for comp in components(w, APISERVER):
        if comp.has("encryption-provider-config"):
            continue
        yield Hit(f"kube-apiserver in container {comp.container.name!r} has no "
                  "--encryption-provider-config: Secrets are stored unencrypted in etcd",
                  path=comp.at("encryption-provider-config"),
                  patch=comp.set_flag_patch(res, "encryption-provider-config",
                                            "/etc/kubernetes/encryption-config.yaml"),
                  fix="--encryption-provider-config=/etc/kubernetes/encryption-config.yaml")


def _config(res: K8sResource) -> Iterator[Hit]:
    entries = res.get("resources")
    if not isinstance(entries, list):
        return
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        kinds = entry.get("resources")
        if not isinstance(kinds, list) or not any(k in ("secrets", "*.*", "*.") for k in kinds):
            continue
        providers = entry.get("providers")
        if not isinstance(providers, list) or not providers or not isinstance(providers[0], dict):
            continue
        first = next(iter(providers[0]), None)
        if first == "identity":
            yield Hit("EncryptionConfiguration writes secrets with the identity provider (no encryption)",
                      path=("resources", i, "providers", 0), location=f"resources[{i}].providers[0]",
                      fix="providers:\n  - kms:\n      apiVersion: v2\n      name: kms-plugin\n"
                          "      endpoint: unix:///var/run/kms/socket.sock\n  - identity: {}")
