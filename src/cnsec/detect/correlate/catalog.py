"""The threat catalog: signs and the detection rules that combine them, from YAML.

::

    version: 1
    signs:
      - id: http-latency-high
        expr: "p95(latency_ms) by service > 2 × baseline over 5m"   # a window sign
        min_count: 20                                                 # records needed to judge a window
        warmup: 12                                                    # windows before a baseline is trusted
        top: src_ip                                                   # keep the top talkers as evidence
      - id: sqli-probe
        match: 'url ~ "(?i)union\\s+select"'                         # a single-event sign (native)
        on: [access]
      - id: secret-read
        rule: CNSEC-DET-K8S-019                                       # a detection-engine rule match
    threats:
      - id: denial-of-service                                         # an id of cnsec.model threats.yaml
        rules:
          - id: dos-service-degraded
            all: [http-latency-high, availability-low]                # or any / n_of: {n, signs} / sequence
            within: 5m
            by: service
            action: block_traffic
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from cnsec.detect.correlate.expr import duration, parse_filter, parse_metric
from cnsec.detect.correlate.rules import CountRule, ThreatRule
from cnsec.detect.correlate.signs import KINDS, EventSign, WindowSign
from cnsec.errors import UsageError
from cnsec.model.severity import Severity
from cnsec.model.source import Source

DEFAULT_MAX_KEYS = 100_000


@dataclass
class ThreatEntry:
    id: str
    name: str
    description: str
    severity: Severity
    attack_ids: tuple[str, ...]
    rules: list[ThreatRule] = field(default_factory=list)


@dataclass
class Catalog:
    signs: dict[str, EventSign | WindowSign] = field(default_factory=dict)
    threats: list[ThreatEntry] = field(default_factory=list)
    rules: list[ThreatRule | CountRule] = field(default_factory=list)
    origin: str = ""
    #: detection-engine rules that came with the catalog (a Sigma file's base rules)
    engine_rules: list[Any] = field(default_factory=list)

    def engine_rule_ids(self) -> set[str]:
        """The detection-engine rules some sign needs (only those are run)."""
        return {r for s in self.signs.values() for r in s.rule_ids}

    def extend(self, other: Catalog) -> None:
        for sid, s in other.signs.items():
            if sid in self.signs:
                raise UsageError(f"duplicate sign id {sid}", Source(other.origin))
            self.signs[sid] = s
        known = {r.id for r in self.rules}
        for r in other.rules:
            if r.id in known:
                raise UsageError(f"duplicate rule id {r.id}", Source(other.origin))
            known.add(r.id)
        self.rules.extend(other.rules)
        self.threats.extend(other.threats)
        self.engine_rules.extend(other.engine_rules)


def _err(origin: str, msg: str) -> UsageError:
    return UsageError(msg, Source(origin))


def _list(v: Any) -> list[Any]:
    if v is None:
        return []
    return list(v) if isinstance(v, list | tuple) else [v]


def build_sign(d: dict[str, Any], origin: str, max_keys: int) -> EventSign | WindowSign:
    sid = d.get("id")
    if not isinstance(sid, str) or not sid:
        raise _err(origin, "every sign needs an id")
    # YAML 1.1 reads a bare ``on`` key as the boolean true: accept both spellings (and ``kinds``)
    raw: dict[Any, Any] = d
    kinds_raw = _list(raw.get("on", raw.get(True, raw.get("kinds"))))
    bad = [k for k in kinds_raw if k not in KINDS]
    if bad:
        raise _err(origin, f"sign {sid}: unknown input kind(s) {bad} (expected {', '.join(KINDS)})")
    kinds = frozenset(kinds_raw) if kinds_raw else None
    desc = str(d.get("description", "")).strip()
    try:
        if "expr" in d:
            e = parse_metric(str(d["expr"]))
            quant = e.func in ("quantile", "avg")
            ids = tuple(str(r) for r in _list(d.get("rule")))
            return WindowSign(
                rule_ids=ids, top_n=int(d.get("top_n", 50)),
                id=sid, description=desc or e.text, expr=e, max_keys=max_keys,
                warmup=int(d.get("warmup", 12)), min_count=int(d.get("min_count", 20 if quant else 1)),
                min_samples=int(d.get("min_samples", 3)),
                min_value=float(d["min_value"]) if d.get("min_value") is not None else None,
                top=d.get("top"), kinds=frozenset(("event",)) if ids else kinds)
        rule_ids = tuple(str(r) for r in _list(d.get("rule")))
        where = parse_filter(str(d["match"])) if d.get("match") is not None else None
    except UsageError as exc:
        raise _err(origin, f"sign {sid}: {exc.message}") from None
    if not rule_ids and where is None:
        raise _err(origin, f"sign {sid}: needs expr (a metric condition), match (a record condition) "
                           f"or rule (detection rule ids)")
    return EventSign(id=sid, description=desc or (where.text if where else ", ".join(rule_ids)),
                     rule_ids=rule_ids, where=where, kinds=kinds)


MODES = ("all", "any", "n_of", "sequence")


def build_rule(d: dict[str, Any], threat: ThreatEntry, signs: dict[str, Any], origin: str,
               max_keys: int) -> ThreatRule:
    rid = d.get("id")
    if not isinstance(rid, str) or not rid:
        raise _err(origin, f"threat {threat.id}: every rule needs an id")
    modes = [m for m in MODES if m in d]
    if len(modes) != 1:
        raise _err(origin, f"rule {rid}: give exactly one of {', '.join(MODES)}")
    mode = modes[0]
    n = 1
    spec = d[mode]
    if mode == "n_of":
        if not isinstance(spec, dict) or "n" not in spec or "signs" not in spec:
            raise _err(origin, f"rule {rid}: n_of needs {{n: N, signs: [...]}}")
        n = int(spec["n"])
        spec = spec["signs"]
    names = tuple(str(s) for s in _list(spec))
    if not names:
        raise _err(origin, f"rule {rid}: no signs")
    missing = [s for s in names if s not in signs]
    if missing:
        raise _err(origin, f"rule {rid}: unknown sign(s) {', '.join(missing)}")
    group_by = d.get("by")
    for sid in names:
        sign = signs[sid]
        if isinstance(sign, WindowSign) and group_by is not None and sign.by != group_by:
            keyed = f"keyed by {sign.by}" if sign.by else "not keyed"
            raise _err(origin, f"rule {rid}: groups by {group_by} but sign {sid} is {keyed}: "
                               f"it could never match")
    if mode == "n_of" and not 1 <= n <= len(set(names)):
        raise _err(origin, f"rule {rid}: n must be between 1 and {len(set(names))}")
    try:
        window = duration(str(d.get("within", "5m")))
        cooldown = duration(str(d["cooldown"])) if d.get("cooldown") is not None else None
        severity = Severity.parse(d["severity"]) if d.get("severity") else threat.severity
    except (UsageError, ValueError) as exc:
        raise _err(origin, f"rule {rid}: {exc}") from None
    return ThreatRule(
        id=rid, title=str(d.get("title") or f"{threat.name}: {rid}"), threat_id=threat.id,
        severity=severity, action=d.get("action"), signs=names, mode=mode, window=window,
        group_by=d.get("by"), max_keys=max_keys, n=n, alert_key=d.get("alert_key"),
        attack_ids=threat.attack_ids, description=str(d.get("description", "")).strip(),
        cooldown=cooldown)


def load_catalog_text(text: str, origin: str, max_keys: int = DEFAULT_MAX_KEYS) -> Catalog:
    import yaml

    from cnsec.model.threat import threat_catalog

    try:
        raw = yaml.load(text, Loader=yaml.CSafeLoader)  # libyaml: the bundled catalog in 2 ms, not 37
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise UsageError(f"invalid YAML: {getattr(exc, 'problem', exc)}",
                         Source(origin, mark.line + 1 if mark else None)) from None
    from cnsec.yamlsafe import shape_problem

    problem = shape_problem(raw)  # aliases can make a small file a huge (or endless) catalog
    if problem is not None:
        raise _err(origin, f"the catalog {problem}")
    if not isinstance(raw, dict) or not isinstance(raw.get("threats", []), list):
        raise _err(origin, "a threat catalog is a mapping with 'signs' and 'threats' lists")
    cat = Catalog(origin=origin)
    for d in raw.get("signs") or []:
        if not isinstance(d, dict):
            raise _err(origin, "each sign is a mapping")
        s = build_sign(d, origin, max_keys)
        if s.id in cat.signs:
            raise _err(origin, f"duplicate sign id {s.id}")
        cat.signs[s.id] = s
    model = threat_catalog()
    seen_rules: set[str] = set()
    for t in raw.get("threats") or []:
        if not isinstance(t, dict) or not isinstance(t.get("id"), str):
            raise _err(origin, "each threat is a mapping with an id")
        base = model.get(t["id"])
        if base is None:
            raise _err(origin, f"threat {t['id']}: not in the cnsec threat catalog (cnsec.model threats.yaml)")
        try:
            sev = Severity.parse(t.get("severity") or base.severity)
        except ValueError as exc:
            raise _err(origin, f"threat {t['id']}: {exc}") from None
        entry = ThreatEntry(base.id, base.name, str(t.get("description") or base.description).strip(),
                            sev, base.attack_ids)
        for rd in t.get("rules") or []:
            if not isinstance(rd, dict):
                raise _err(origin, f"threat {t['id']}: each rule is a mapping")
            rule = build_rule(rd, entry, cat.signs, origin, max_keys)
            if rule.id in seen_rules:
                raise _err(origin, f"duplicate rule id {rule.id}")
            seen_rules.add(rule.id)
            entry.rules.append(rule)
            cat.rules.append(rule)
        cat.threats.append(entry)
    return cat


def load_catalog(path: str | None, max_keys: int = DEFAULT_MAX_KEYS) -> Catalog:
    """``None`` (or ``bundled``): the catalog shipped with cnsec; else a YAML file (or a Sigma file with
    correlation rules, see :mod:`cnsec.detect.correlate.sigma`)."""
    if path in (None, "bundled", "default"):
        text = resources.files("cnsec.detect.correlate").joinpath("threats.yaml").read_text(encoding="utf-8")
        return load_catalog_text(text, "bundled threats.yaml", max_keys)
    p = Path(str(path))
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError("threat catalog not found", Source(str(p))) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the threat catalog: {exc}", Source(str(p))) from None
    if "correlation:" in text and "threats:" not in text:
        from cnsec.detect.correlate.sigma import load_sigma_correlations

        return load_sigma_correlations(p, text, max_keys)
    return load_catalog_text(text, str(p), max_keys)
