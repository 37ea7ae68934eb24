"""Sigma rules: parsed by pySigma, compiled to our native evaluator (``matcher``), never to a database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnsec.detect.normalize import SOURCES, source_for_logsource
from cnsec.detect.rules import SIGMA_LEVELS, LoadFailure, LoadResult, Rule, threat_for_tags
from cnsec.detect.rules.matcher import Unsupported, and_nodes, collect_notes, compile_condition, or_nodes
from cnsec.model.severity import Severity


def compile_sigma_rule(rule: Any, origin: str) -> Rule:
    """One pySigma ``SigmaRule`` → :class:`Rule`; raises :class:`Unsupported` or a pySigma error."""
    ls = rule.logsource
    source = source_for_logsource(ls.product, ls.service)
    map_field = SOURCES[source or "json"].map_field  # json: the user's --map applies
    conditions = [c.parsed for c in rule.detection.parsed_condition]
    with collect_notes() as notes:
        nodes = [compile_condition(c, map_field) for c in conditions]
    node = or_nodes(nodes) if len(nodes) > 1 else and_nodes(nodes)
    attack: list[str] = []
    tactics: list[str] = []
    for tag in rule.tags or ():
        if tag.namespace != "attack":
            continue
        name = str(tag.name)
        if name[:1].lower() == "t" and name[1:2].isdigit():
            attack.append(name.upper())
        else:
            tactics.append(name)
    level = getattr(rule.level, "name", None) or str(rule.level or "medium")
    severity = SIGMA_LEVELS.get(level.lower(), Severity.MEDIUM)
    rid = str(rule.id) if rule.id else f"sigma:{Path(origin).stem}"
    return Rule(
        id=rid,
        title=str(rule.title),
        severity=severity,
        source=source,
        match=node.fn,
        reqs=node.reqs,
        exact=node.exact,
        residual=node.residual,
        residual_known=True,
        cost=node.cost,
        threat_id=threat_for_tags(attack, tactics),
        attack_ids=tuple(attack),
        description=str(rule.description or "").strip(),
        kind="sigma",
        origin=origin,
        notes=tuple(notes),
    )


def load_sigma_docs(path: Path, docs: list[Any]) -> LoadResult:
    from sigma.collection import SigmaCollection
    from sigma.exceptions import SigmaError

    result = LoadResult(files=1)
    origin = str(path)
    try:
        # pySigma validates regexes with Python's engine here; we compile them to RE2 ourselves and
        # fall back (bounded) only for what RE2 rejects, so such rules load instead of failing.
        from sigma.policy.profiles import TrustedPolicy

        collection = SigmaCollection.from_dicts(docs, collect_errors=True, policy=TrustedPolicy)
    except SigmaError as exc:
        result.failures.append(LoadFailure(origin, f"Sigma: {exc}"))
        return result
    except Exception as exc:  # pySigma raises plain errors on some malformed documents
        result.failures.append(LoadFailure(origin, f"Sigma: {type(exc).__name__}: {exc}"))
        return result
    # errors of the file itself (an alias bomb is refused before any rule is read): no rule holds them
    in_rules = {id(e) for item in collection.rules for e in (getattr(item, "errors", None) or ())}
    for error in getattr(collection, "errors", None) or ():
        if id(error) not in in_rules:
            result.failures.append(LoadFailure(origin, f"Sigma: {error}"))
    for item in collection.rules:
        errors = getattr(item, "errors", None)
        if errors:
            result.failures.append(LoadFailure(origin, "Sigma: " + "; ".join(str(e) for e in errors)))
            continue
        kind = type(item).__name__
        if kind == "SigmaCorrelationRule":
            result.failures.append(LoadFailure(
                origin, "correlation rule: runs on the correlation engine (cnsec detect --threats)"))
            continue
        if kind == "SigmaFilter":
            result.failures.append(LoadFailure(origin, "Sigma filter: applies to other rules, not alone"))
            continue
        try:
            result.rules.append(compile_sigma_rule(item, origin))
        except Unsupported as exc:
            result.failures.append(LoadFailure(origin, str(exc)))
        except SigmaError as exc:
            result.failures.append(LoadFailure(origin, f"Sigma: {exc}"))
    return result
