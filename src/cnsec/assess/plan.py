"""The mitigation plan: controls ranked by how much risk they remove, each with concrete patches."""

from __future__ import annotations

from typing import Any

from cnsec.assess.controls import control_catalog
from cnsec.assess.inventory import Inventory
from cnsec.assess.risk import group, score_value
from cnsec.model.asset import Asset
from cnsec.model.finding import Finding
from cnsec.model.risk import PlanItem, Risk

MAX_PATCHES = 5


def patch_yaml(patch: list[dict[str, Any]], kind: str, name: str, namespace: str | None) -> str:
    import json
    import shlex

    from cnsec.assess.patches import to_yaml

    body = to_yaml(patch).rstrip()
    ns = f" -n {shlex.quote(namespace)}" if namespace else ""
    cmd = (f"kubectl patch {shlex.quote(kind.lower())} {shlex.quote(name)}{ns} --type json "
           f"-p {shlex.quote(json.dumps(patch))}")
    # names come from the input: one line each, or a newline in one would end the comment
    title = " ".join(f"{kind}/{name}".split())
    return f"# JSON patch (RFC 6902) for {title}\n{body}\n# apply with:\n# {' '.join(cmd.split(chr(10)))}"


def _patches(findings: list[Finding], assets: dict[str, Asset]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for f in findings:
        if len(out) >= MAX_PATCHES:
            break
        a = assets.get(f.asset_id)
        if f.patch:
            text = patch_yaml(f.patch, a.kind if a else "resource", a.name if a else f.asset_id,
                              a.namespace if a else None)
            out.append({"asset_id": f.asset_id, "file": f.source.file, "line": f.source.line,
                        "finding_id": f.id, "patch": f.patch, "yaml": text})
        elif f.fix:
            out.append({"asset_id": f.asset_id, "file": f.source.file, "line": f.source.line,
                        "finding_id": f.id, "fix": f.fix, "yaml": f.fix})
    return out


def build_plan(findings: list[Finding], risks: list[Risk], assets: dict[str, Asset],
               inv: Inventory | None = None,
               groups: dict[tuple[str, str], list[Finding]] | None = None) -> list[PlanItem]:
    controls = control_catalog()
    # a finding may name its own plan item within its control (``plan_item``: "upgrade X to Y in image Z")
    by_control: dict[tuple[str, str | None], list[Finding]] = {}
    for f in findings:
        if not f.suppressed and f.control_id:
            by_control.setdefault((f.control_id, f.attrs.get("plan_item")), []).append(f)
    if groups is None:
        groups = group(findings)
    risk_index = {(r.asset_id, r.threat_id): r for r in risks}
    items: list[PlanItem] = []
    for (control_id, own_title), fs in by_control.items():
        closing = {f.id for f in fs}
        reduction = 0
        closed = 0
        touched = {(f.asset_id, t) for f in fs for t in f.threat_ids}
        for key in touched:
            risk = risk_index.get(key)
            if risk is None:
                continue
            remaining = [f for f in groups.get(key, []) if f.id not in closing]
            if not remaining:
                reduction += risk.score
                closed += 1
                continue
            asset = assets.get(key[0])
            if asset is None:
                continue
            reduction += risk.score - score_value(asset, key[1], remaining)
        ctrl = controls.get(control_id)
        ordered = sorted(fs, key=lambda f: (-f.severity, f.asset_id))
        items.append(PlanItem(
            rank=0, control_id=control_id, title=own_title or (ctrl.title if ctrl else control_id),
            action=ctrl.action if ctrl else "", finding_ids=tuple(f.id for f in ordered),
            risk_reduction=reduction, risks_closed=closed, patches=_patches(ordered, assets),
        ))
    items.sort(key=lambda p: (-p.risk_reduction, -len(p.finding_ids), p.control_id, p.title))
    for i, item in enumerate(items, 1):
        item.rank = i
    return items
