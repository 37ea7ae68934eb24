from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.k8s._podsec import add_drop_patch, added_caps, dropped_caps, is_windows
from cnsec.assess.patches import remove_patch
from cnsec.k8s.workload import Workload
from cnsec.model.severity import Severity


@check(
    id="CNSEC-K8S-010",
    title="NET_RAW capability not dropped",
    severity=Severity.MEDIUM,
    target="workload",
    threats=("network-interception", "lateral-movement"),
    control="CTRL-DROP-CAPS",
    remediation="Add NET_RAW (or ALL) to securityContext.capabilities.drop and do not add it back.",
    equivalents={"checkov": ("CKV_K8S_28",)},
)
def net_raw_not_dropped(w: Workload, ctx: object) -> Iterator[Hit]:
    """NET_RAW is in the runtime's default set: it lets a process craft raw packets, so a compromised
    container can spoof ARP and DNS answers and intercept its neighbours' traffic on the node's
    bridge. A container passes when it drops NET_RAW or ALL; adding NET_RAW back fails even then
    (Checkov only reads the drop list and would pass that case)."""
    if is_windows(w):
        return
    for c in w.containers:
        re_added = [i for i, cap in added_caps(c) if cap in ("NET_RAW", "ALL")]
        if re_added:
            path = c.at("securityContext", "capabilities", "add", re_added[0])
            yield Hit(f"container {c.name!r} adds NET_RAW back", path=path, patch=remove_patch(path))
            continue
        if dropped_caps(c) & {"NET_RAW", "ALL"}:
            continue
        yield Hit(f"container {c.name!r} keeps the NET_RAW capability",
                  path=c.at("securityContext", "capabilities", "drop"), patch=add_drop_patch(w, c, "NET_RAW"))
