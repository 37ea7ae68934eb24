from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.k8s._service_accounts import account_of, service_account_name
from cnsec.assess.patches import set_patch
from cnsec.k8s.workload import Workload
from cnsec.model.severity import Severity


@check(
    id="CNSEC-K8S-030",
    title="Service-account token auto-mounted",
    severity=Severity.MEDIUM,
    target="workload",
    threats=("sa-token-theft",),
    control="CTRL-SA-TOKENS",
    remediation="Set automountServiceAccountToken: false in the pod spec (or on its ServiceAccount) unless "
                "the workload calls the Kubernetes API.",
    equivalents={"checkov": ("CKV_K8S_38",), "kubescape": ("C-0034",)},
)
def sa_token_automount(w: Workload, ctx: Any) -> Iterator[Hit]:
    """Every container of a pod with an auto-mounted token can call the API server as the pod's service
    account: one remote code execution becomes API access, and with any RBAC grant a foothold in the
    cluster. Kubernetes applies the pod's ``automountServiceAccountToken`` first, then the
    ServiceAccount's. So, like Kubescape and unlike Checkov CKV_K8S_38, a pod that leaves the field
    unset passes when its ServiceAccount is in the inventory with ``automountServiceAccountToken:
    false``; a pod that sets it to true fails whatever its account says."""
    path = w.pod_at("automountServiceAccountToken")
    pod_value = w.pod.get("automountServiceAccountToken")
    if pod_value is False:
        return
    if pod_value is True:
        yield Hit("the pod sets automountServiceAccountToken: true", path=path,
                  patch=set_patch(w.res, path, False))
        return
    sa = account_of(w, ctx)
    if sa is not None and sa.doc.get("automountServiceAccountToken") is False:
        return
    account = service_account_name(w) or "default"
    why = (f"its ServiceAccount {account!r} does not disable it either" if sa is not None
           else f"ServiceAccount {account!r} is not in the inventory to say otherwise")
    yield Hit(f"the pod mounts a service-account token by default ({why})", path=path,
              patch=set_patch(w.res, path, False))
