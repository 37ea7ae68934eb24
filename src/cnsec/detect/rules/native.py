"""Native YAML rules: our metadata (threat, severity, ATT&CK, key, examples) around a Sigma detection.

The ``match`` block uses Sigma's detection grammar (selections, modifiers, ``condition``), parsed by
pySigma and compiled by the same evaluator, so one language is learnt once::

    id: CNSEC-K8S-001
    title: Privileged pod created
    severity: high
    threat: container-escape
    attack: [T1611]
    source: k8s-audit
    key: [user=user.username]
    match:
      selection:
        verb: create
        objectRef.resource: pods
        requestObject.spec.containers.securityContext.privileged: true
      condition: selection
    examples:
      match: [{...event...}]
      no_match: [{...event...}]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnsec.detect.normalize import SOURCES
from cnsec.detect.rules import Example, LoadFailure, LoadResult, Rule
from cnsec.detect.rules.matcher import Unsupported, and_nodes, collect_notes, compile_condition, or_nodes
from cnsec.model.severity import Severity

REQUIRED = ("id", "title", "severity", "source", "match")


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def compile_native(doc: dict[str, Any], origin: str) -> Rule:
    from sigma.exceptions import SigmaError
    from sigma.policy.profiles import TrustedPolicy
    from sigma.rule import SigmaRule

    from cnsec.model.threat import threat_catalog

    missing = [k for k in REQUIRED if k not in doc]
    if missing:
        raise Unsupported(f"missing {', '.join(missing)}")
    source = str(doc["source"])
    if source not in SOURCES:
        raise Unsupported(f"unknown source {source!r} (expected {', '.join(SOURCES)})")
    try:
        severity = Severity.parse(doc["severity"])
    except ValueError as exc:
        raise Unsupported(str(exc)) from None
    threat = doc.get("threat")
    if threat is not None and threat not in threat_catalog():
        raise Unsupported(f"unknown threat {threat!r} (not in the threat catalog)")
    match = doc["match"]
    if not isinstance(match, dict) or "condition" not in match:
        raise Unsupported("match must be a Sigma detection block with a condition")
    try:
        sigma = SigmaRule.from_dict({
            "title": str(doc["title"]),
            "logsource": {"product": "cnsec", "service": source},
            "detection": match,
        }, policy=TrustedPolicy)
        kind = SOURCES[source]
        with collect_notes() as notes:
            nodes = [compile_condition(c.parsed, kind.map_field) for c in sigma.detection.parsed_condition]
    except SigmaError as exc:
        raise Unsupported(f"match: {exc}") from None
    node = or_nodes(nodes) if len(nodes) > 1 else and_nodes(nodes)
    examples: list[Example] = []
    ex = doc.get("examples") or {}
    for flag, name in ((True, "match"), (False, "no_match")):
        for i, event in enumerate(ex.get(name) or ()):
            if not isinstance(event, dict):
                raise Unsupported(f"examples.{name}[{i}] is not an event object")
            examples.append(Example(flag, event, f"{name}[{i}]"))
    equivalents = {str(k): _as_tuple(v) for k, v in (doc.get("equivalents") or {}).items()}
    return Rule(
        id=str(doc["id"]),
        title=str(doc["title"]),
        severity=severity,
        source=source,
        match=node.fn,
        reqs=node.reqs,
        exact=node.exact,
        residual=node.residual,
        residual_known=True,
        cost=node.cost,
        threat_id=threat,
        attack_ids=_as_tuple(doc.get("attack")),
        description=str(doc.get("description", "")).strip(),
        key_fields=_as_tuple(doc.get("key")),
        kind="native",
        origin=origin,
        examples=examples,
        action=doc.get("action"),
        equivalents=equivalents,
        notes=tuple(notes),
    )


def load_native_docs(path: Path, docs: list[Any]) -> LoadResult:
    result = LoadResult(files=1)
    for doc in docs:
        try:
            result.rules.append(compile_native(doc, str(path)))
        except Unsupported as exc:
            rid = doc.get("id", "?") if isinstance(doc, dict) else "?"
            result.failures.append(LoadFailure(str(path), f"rule {rid}: {exc}"))
    return result
