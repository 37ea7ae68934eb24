from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.patches import set_patch
from cnsec.k8s.resource import K8sResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-K8S-062",
    title="Default ServiceAccount mounts its token into pods",
    severity=Severity.LOW,
    target="k8s",
    kinds=("ServiceAccount",),
    threats=("sa-token-theft",),
    control="CTRL-SA-TOKENS",
    remediation="Set automountServiceAccountToken: false on each namespace's default ServiceAccount.",
    equivalents={"checkov": ("CKV_K8S_41",), "kubescape": ("C-0189",)},
)
def default_sa_automount(res: K8sResource, ctx: object) -> Iterator[Hit]:
    """The ``default`` ServiceAccount is used by every pod that names no other, so unless it disables
    token automounting each of those pods carries an API credential it almost never needs (CIS 5.1.5).
    Turning it off on the account protects the pods that forget to turn it off themselves."""
    if res.name != "default" or res.doc.get("automountServiceAccountToken") is False:
        return
    path = ("automountServiceAccountToken",)
    yield Hit("the default ServiceAccount does not set automountServiceAccountToken: false", path=path,
              patch=set_patch(res, path, False))
