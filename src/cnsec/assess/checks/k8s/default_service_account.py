from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.k8s._service_accounts import service_account_name
from cnsec.assess.patches import set_patch
from cnsec.k8s.workload import Workload
from cnsec.model.severity import Severity


@check(
    id="CNSEC-K8S-031",
    title="Workload runs as the default service account",
    severity=Severity.LOW,
    target="workload",
    threats=("sa-token-theft",),
    control="CTRL-SA-TOKENS",
    remediation="Create a dedicated ServiceAccount for the workload and set serviceAccountName to it.",
)
def default_service_account(w: Workload, ctx: Any) -> Iterator[Hit]:
    """Every pod of a namespace that names no service account shares the namespace's ``default``
    account: any permission granted to it for one workload is granted to all, and a token stolen from
    one pod is as good as a token from any other. A dedicated account per workload keeps grants (and
    audit logs) per workload. Checkov's CKV_K8S_41/42 look at the default ServiceAccount itself and at
    bindings to it; those are CNSEC-K8S-062 and CNSEC-K8S-063."""
    name = service_account_name(w)
    if name is not None and name != "default":
        return
    key = "serviceAccountName" if "serviceAccountName" in w.pod or "serviceAccount" not in w.pod \
        else "serviceAccount"
    path = w.pod_at(key)
    how = "names the default service account" if name == "default" else "names no service account"
    yield Hit(f"the pod {how}, so it runs as 'default'", path=path,
              patch=set_patch(w.res, w.pod_at("serviceAccountName"), w.res.name))
