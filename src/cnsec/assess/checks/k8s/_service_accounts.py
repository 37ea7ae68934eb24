"""Which service account a pod runs as, and that account's own settings when it is in the inventory."""

from __future__ import annotations

from typing import Any

from cnsec.k8s.resource import K8sResource
from cnsec.k8s.workload import Workload

_CACHE: dict[str, Any] = {"inv": None, "index": {}}


def service_account_name(w: Workload) -> str | None:
    """``serviceAccountName`` (or the deprecated ``serviceAccount``); ``None`` when unset (= default)."""
    for key in ("serviceAccountName", "serviceAccount"):
        v = w.pod.get(key)
        if isinstance(v, str) and v.strip():
            return v.strip()
    return None


def service_account_index(ctx: Any) -> dict[tuple[str | None, str], K8sResource]:
    """ServiceAccounts of the inventory by (namespace, name), built once per run."""
    inv = getattr(ctx, "inventory", None)
    if inv is None:
        return {}
    if _CACHE["inv"] is not inv:
        index: dict[tuple[str | None, str], K8sResource] = {}
        for res in getattr(inv, "k8s", []):
            if res.kind == "ServiceAccount":
                index.setdefault((res.effective_namespace, res.name), res)
        _CACHE["inv"], _CACHE["index"] = inv, index
    idx: dict[tuple[str | None, str], K8sResource] = _CACHE["index"]
    return idx


def account_of(w: Workload, ctx: Any) -> K8sResource | None:
    name = service_account_name(w) or "default"
    return service_account_index(ctx).get((w.res.effective_namespace, name))
