"""Sigma correlation rules (event_count, value_count, temporal, temporal_ordered) on the correlator.

pySigma parses the file (the correlation rules and any base rules beside them); the base rules are
compiled and run by the detection engine, and every match of a referenced rule is a sign. Group-by
fields are read from the matched event with the source's Sigma field mapping; ``aliases`` name a field
per referenced rule.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from cnsec.detect.correlate.catalog import Catalog
from cnsec.detect.correlate.rules import CountRule, ThreatRule
from cnsec.detect.correlate.signs import EventSign, Occurrence
from cnsec.errors import UsageError
from cnsec.model.severity import Severity
from cnsec.model.source import Source

SUPPORTED_OPS = {"GT": "gt", "GTE": "gte", "EQ": "eq"}


def _field_reader(name: str, per_rule: dict[str, str]) -> Callable[[Occurrence], str | None]:
    from cnsec.detect.fields import first_text, make_getter
    from cnsec.detect.normalize import SOURCES

    cache: dict[tuple[str, str], Any] = {}

    def read(occ: Occurrence) -> str | None:
        rec = occ.fields
        data = rec.get("_data")
        src = rec.get("_source")
        if not isinstance(data, dict) or not isinstance(src, str):
            v = rec.get(name)
            return None if v is None else str(v)
        fname = per_rule.get(str(rec.get("rule")), name)
        get = cache.get((src, fname))
        if get is None:
            get = make_getter(SOURCES[src].map_field(fname))
            cache[(src, fname)] = get
        return first_text(data, get)
    return read


def _group_fn(fields: list[str], aliases: dict[str, dict[str, str]]) -> Callable[[Occurrence], str | None]:
    readers = [(f, _field_reader(f, aliases.get(f, {}))) for f in fields]

    def group(occ: Occurrence) -> str | None:
        parts = []
        for f, read in readers:
            v = read(occ)
            if v is None:
                return None
            parts.append(f"{f}={v}")
        return ",".join(parts) if parts else "-"
    return group


def load_sigma_correlations(path: Path, text: str, max_keys: int) -> Catalog:
    from sigma.collection import SigmaCollection
    from sigma.exceptions import SigmaError

    from cnsec.detect.rules import SIGMA_LEVELS, load_file, threat_for_tags

    origin = str(path)
    try:
        coll = SigmaCollection.from_yaml(text)
    except SigmaError as exc:
        raise UsageError(f"Sigma: {exc}", Source(origin)) from None
    names: dict[str, str] = {}
    for base_rule in coll.rules:
        if type(base_rule).__name__ == "SigmaRule" and base_rule.id:
            names[str(base_rule.id)] = str(base_rule.id)
            if getattr(base_rule, "name", None):
                names[str(base_rule.name)] = str(base_rule.id)
    cat = Catalog(origin=origin)
    base = load_file(path, text)
    cat.engine_rules.extend(base.rules)
    for entry in coll.rules:
        item: Any = entry
        if type(item).__name__ != "SigmaCorrelationRule":
            continue
        rid = str(item.id) if item.id else f"sigma-correlation:{path.stem}"
        refs = [names.get(r.reference, r.reference) for r in item.rules or []]
        if not refs:
            raise UsageError(f"correlation rule {rid}: no rules referenced", Source(origin))
        for ref in refs:
            sid = f"rule:{ref}"
            if sid not in cat.signs:
                cat.signs[sid] = EventSign(id=sid, description=f"matches of rule {ref}", rule_ids=(ref,))
        signs = tuple(f"rule:{r}" for r in refs)
        aliases: dict[str, dict[str, str]] = {}
        for alias, spec in (item.aliases.aliases.items() if item.aliases else ()):
            aliases[alias] = {names.get(ref.reference, ref.reference): fld for ref, fld in spec.mapping.items()}
        group_by = list(item.group_by or [])
        attack: list[str] = []
        tactics: list[str] = []
        for tag in item.tags or ():
            if tag.namespace == "attack":
                n = str(tag.name)
                (attack if n[:1].lower() == "t" and n[1:2].isdigit() else tactics).append(
                    n.upper() if n[:1].lower() == "t" else n)
        level = getattr(item.level, "name", None) or "medium"
        common: dict[str, Any] = dict(
            id=rid, title=str(item.title), threat_id=threat_for_tags(attack, tactics),
            severity=SIGMA_LEVELS.get(level.lower(), Severity.MEDIUM), action=None, signs=signs,
            window=float(item.timespan.seconds), max_keys=max_keys, attack_ids=tuple(attack),
            description=str(item.description or "").strip())
        ctype = str(getattr(item.type, "name", item.type)).lower()
        cond: Any = item.condition
        op = getattr(getattr(cond, "op", None), "name", None)
        count = getattr(cond, "count", None)
        group = _group_fn(group_by, aliases)
        if ctype in ("event_count", "value_count"):
            if op not in SUPPORTED_OPS or count is None:
                raise UsageError(f"correlation rule {rid}: condition {op} is not supported (gt, gte, eq are: "
                                 f"they can fire as events arrive)", Source(origin))
            value_fn = None
            if ctype == "value_count":
                fieldref = cond.fieldref
                if not isinstance(fieldref, str):
                    raise UsageError(f"correlation rule {rid}: value_count needs one condition field",
                                     Source(origin))
                value_fn = _field_reader(fieldref, aliases.get(fieldref, {}))
            cat.rules.append(CountRule(op=SUPPORTED_OPS[op], count=float(count), group_fn=group,
                                       value_fn=value_fn, mode=ctype, **common))
        elif ctype in ("temporal", "temporal_ordered"):
            need = len(set(signs))
            if op is not None and count is not None:
                need = int(count) + (1 if op == "GT" else 0)
            mode = "sequence" if ctype == "temporal_ordered" else ("all" if need >= len(set(signs)) else "n_of")
            rule = ThreatRule(mode=mode, group_by=None, n=max(1, min(need, len(set(signs)))), kind="sigma-correlation",
                              **common)
            rule.group_fn = group
            cat.rules.append(rule)
        else:
            raise UsageError(f"correlation rule {rid}: type {ctype} is not supported", Source(origin))
    return cat
