"""The assess checks' shape for a catalogue-backed RBAC finding (:mod:`cnsec.k8s.rbac_risks`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from cnsec.assess.checks.base import Hit
from cnsec.k8s.rbac_risks import role_rule_hits
from cnsec.k8s.resource import K8sResource


def role_rule_removal_hits(res: K8sResource, entry_ids: Sequence[str]) -> Iterator[Hit]:
    """The assess checks' hit for each rule :func:`role_rule_hits` finds: what the rule grants and why
    it matters, located at the rule, fixed by removing it (one shape for every catalogue-backed check)."""
    for index, entry in role_rule_hits(res, entry_ids):
        yield Hit(f"rule {index} {entry.title[0].lower()}{entry.title[1:]}: {entry.why}",
                  path=("rules", index), patch=[{"op": "remove", "path": f"/rules/{index}"}])
