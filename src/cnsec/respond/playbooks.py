"""Playbooks: which alerts get which actions, with which safety limits.

```yaml
version: 1
allow_list:            # never acted upon (added to the built-in defaults)
  cidrs: [10.0.0.0/24]
  names: ["prod/payments-*"]
rate_limit: {max_actions: 20, window: 10m}
rules:
  - name: block DoS sources
    match: {threats: [denial-of-service], severity: high}
    do:
      - block_traffic: {namespace: shop, pod_selector: {app: web}}
      - notify: {}
```

Every mistake is reported with the playbook's file:line, before any alert is looked at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from cnsec.errors import InputError
from cnsec.model.event import Alert
from cnsec.model.severity import Severity
from cnsec.model.source import Source
from cnsec.respond.actions.base import Change, Network, parse_network

#: Never blocked, whatever the playbook says: loopback, the default ``kubernetes`` service IP (the
#: API server) and the default kube-dns service IP of kubeadm/kind clusters. The real service IPs are
#: looked up from the cluster on ``--apply`` (``discover``).
DEFAULT_CIDRS = ("127.0.0.0/8", "::1/128", "10.96.0.1/32", "10.96.0.10/32")
#: Names are ``namespace/object`` for workloads and policies, the user name for identities.
DEFAULT_NAMES = ("kube-system/*", "kube-public/*", "kube-node-lease/*", "system:node:*", "system:kube-*",
                 "system:apiserver", "system:serviceaccount:kube-system:*", "kubernetes-admin")

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def parse_duration(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"{value!r} is not a duration (e.g. 30s, 5m, 1h)")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return seconds


# -- YAML with line numbers ----------------------------------------------------------------------------
class _Map(dict[str, Any]):
    line: int = 0
    lines: dict[str, int]


def _load_yaml(text: str, path: str) -> Any:
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> _Map:
        result = _Map()
        result.line = node.start_mark.line + 1
        result.lines = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                raise InputError(f"mapping keys must be strings, got {key!r}",
                                 Source(path, key_node.start_mark.line + 1))
            if key in result:
                raise InputError(f"duplicate key {key!r}", Source(path, key_node.start_mark.line + 1))
            result[key] = loader.construct_object(value_node, deep=True)
            result.lines[key] = value_node.start_mark.line + 1
        return result

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    from cnsec.yamlsafe import shape_problem

    try:
        doc = yaml.load(text, Loader=Loader)  # noqa: S506 - a SafeLoader subclass
    except RecursionError:
        raise InputError("invalid YAML: nested too deeply", Source(path)) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise InputError(f"invalid YAML: {exc.problem}", Source(path, mark.line + 1 if mark else None)) \
            from None
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", Source(path)) from None
    # aliases can make a small file a huge (or endless) structure that the checks below would walk
    problem = shape_problem(doc)
    if problem is not None:
        raise InputError(f"the playbook {problem}", Source(path))
    return doc


# -- the playbook ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Step:
    action: str
    params: dict[str, Any]
    source: Source


@dataclass(slots=True)
class PlaybookRule:
    name: str
    source: Source
    steps: list[Step]
    threats: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    severity: Severity = Severity.INFO
    min_count: int = 1
    stop: bool = False

    def matches(self, alert: Alert) -> bool:
        def any_glob(patterns: list[str], value: str | None) -> bool:
            return not patterns or (value is not None and any(fnmatchcase(value, p) for p in patterns))

        return (alert.severity >= self.severity and alert.count >= self.min_count
                and any_glob(self.threats, alert.threat_id) and any_glob(self.rules, alert.rule_id)
                and any_glob(self.actions, alert.action) and any_glob(self.keys, alert.key))


@dataclass(slots=True)
class AllowList:
    cidrs: list[Network] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    discover: bool = True

    def refuse(self, change: Change) -> str | None:
        """Why ``change`` must not happen, or ``None``."""
        for text in change.cidrs:
            try:
                net = parse_network(text)
            except ValueError:
                return f"{text!r} is not an address"
            for allowed in self.cidrs:
                if net.version == allowed.version and net.overlaps(allowed):
                    return f"allow-listed: {net} overlaps protected {allowed}"
        for name in change.names:
            for pattern in self.names:
                if fnmatchcase(name, pattern):
                    return f"allow-listed: {name} matches protected name {pattern!r}"
        return None

    def add_cidr(self, text: str) -> None:
        net = parse_network(text)
        if net not in self.cidrs:
            self.cidrs.append(net)


DEFAULT_MAX_ACTIONS = 20
DEFAULT_WINDOW = 600.0


@dataclass(frozen=True, slots=True)
class RateLimit:
    max_actions: int = DEFAULT_MAX_ACTIONS
    window: float = DEFAULT_WINDOW


@dataclass(slots=True)
class Playbook:
    path: str
    rules: list[PlaybookRule]
    allow_list: AllowList
    rate_limit: RateLimit

    def matching(self, alert: Alert) -> list[PlaybookRule]:
        found: list[PlaybookRule] = []
        for rule in self.rules:
            if rule.matches(alert):
                found.append(rule)
                if rule.stop:
                    break
        return found


def _str_list(value: Any, what: str, src: Source) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"{what} must be a string or a list of strings", src)
    return list(value)


def _mapping(value: Any, what: str, src: Source, known: set[str]) -> _Map:
    if value is None:
        value = _Map()
        value.lines = {}
    if not isinstance(value, _Map):
        raise InputError(f"{what} must be a mapping", src)
    unknown = sorted(set(value) - known)
    if unknown:
        raise InputError(f"{what}: unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})",
                         Source(src.file, value.lines.get(unknown[0], value.line)))
    return value


def parse_playbook(text: str, path: str) -> Playbook:
    from cnsec.respond.actions import load_actions

    actions = load_actions()
    top_src = Source(path, 1)
    raw = _load_yaml(text, path)
    root = _mapping(raw, "playbook", top_src, {"version", "allow_list", "rate_limit", "rules"})

    def at(mapping: _Map, key: str) -> Source:
        return Source(path, mapping.lines.get(key, mapping.line or None))

    if root.get("version", 1) != 1:
        raise InputError(f"unsupported playbook version {root.get('version')!r} (expected 1)",
                         at(root, "version"))

    allow = AllowList(cidrs=[], names=[])
    raw_allow = _mapping(root.get("allow_list"), "allow_list", at(root, "allow_list"),
                         {"cidrs", "names", "defaults", "discover"})
    use_defaults = raw_allow.get("defaults", True)
    if not isinstance(use_defaults, bool):
        raise InputError("allow_list.defaults must be true or false", at(raw_allow, "defaults"))
    for cidr in list(DEFAULT_CIDRS if use_defaults else ()) + _str_list(
            raw_allow.get("cidrs", []), "allow_list.cidrs", at(raw_allow, "cidrs")):
        try:
            allow.add_cidr(cidr)
        except ValueError:
            raise InputError(f"allow_list.cidrs: {cidr!r} is not a CIDR", at(raw_allow, "cidrs")) from None
    allow.names = (list(DEFAULT_NAMES) if use_defaults else []) + _str_list(
        raw_allow.get("names", []), "allow_list.names", at(raw_allow, "names"))
    discover = raw_allow.get("discover", True)
    if not isinstance(discover, bool):
        raise InputError("allow_list.discover must be true or false", at(raw_allow, "discover"))
    allow.discover = discover

    raw_rate = _mapping(root.get("rate_limit"), "rate_limit", at(root, "rate_limit"),
                        {"max_actions", "window"})
    max_actions = raw_rate.get("max_actions", DEFAULT_MAX_ACTIONS)
    if isinstance(max_actions, bool) or not isinstance(max_actions, int) or max_actions < 0:
        raise InputError("rate_limit.max_actions must be a non-negative integer", at(raw_rate, "max_actions"))
    try:
        window = parse_duration(raw_rate.get("window", DEFAULT_WINDOW))
    except ValueError as exc:
        raise InputError(f"rate_limit.window: {exc}", at(raw_rate, "window")) from None

    raw_rules = root.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise InputError("a playbook needs a non-empty 'rules' list", at(root, "rules"))
    rules: list[PlaybookRule] = []
    names: set[str] = set()
    for index, raw_rule in enumerate(raw_rules, 1):
        rule_src = Source(path, getattr(raw_rule, "line", None) or at(root, "rules").line)
        entry = _mapping(raw_rule, f"rule #{index}", rule_src, {"name", "match", "do", "stop"})
        name = entry.get("name", f"rule-{index}")
        if not isinstance(name, str) or not name:
            raise InputError("rule name must be a non-empty string", at(entry, "name"))
        if name in names:
            raise InputError(f"duplicate rule name {name!r}", at(entry, "name"))
        names.add(name)
        match = _mapping(entry.get("match"), f"rule {name!r}: match", at(entry, "match"),
                         {"threats", "rules", "actions", "keys", "severity", "min_count"})
        rule = PlaybookRule(name=name, source=rule_src, steps=[])
        for key in ("threats", "rules", "actions", "keys"):
            if key in match:
                setattr(rule, key, _str_list(match[key], f"match.{key}", at(match, key)))
        if "severity" in match:
            try:
                rule.severity = Severity.parse(match["severity"])
            except ValueError as exc:
                raise InputError(f"match.severity: {exc}", at(match, "severity")) from None
        if "min_count" in match:
            count = match["min_count"]
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise InputError("match.min_count must be a positive integer", at(match, "min_count"))
            rule.min_count = count
        stop = entry.get("stop", False)
        if not isinstance(stop, bool):
            raise InputError("stop must be true or false", at(entry, "stop"))
        rule.stop = stop
        raw_steps = entry.get("do")
        if not isinstance(raw_steps, list) or not raw_steps:
            raise InputError(f"rule {name!r} needs a non-empty 'do' list of actions", at(entry, "do"))
        for raw_step in raw_steps:
            step_line = getattr(raw_step, "line", None) or at(entry, "do").line
            step_src = Source(path, step_line)
            if isinstance(raw_step, str):
                action_id, given = raw_step, _Map()
            elif isinstance(raw_step, _Map) and len(raw_step) == 1:
                action_id, given = next(iter(raw_step.items()))
                if given is None:
                    given = _Map()
            else:
                raise InputError("each step is an action name or {action: {parameters}}", step_src)
            if action_id not in actions:
                raise InputError(f"unknown action {action_id!r} (known: {', '.join(sorted(actions))})",
                                 step_src)
            if not isinstance(given, dict):
                raise InputError(f"{action_id}: parameters must be a mapping", step_src)
            try:
                params = actions[action_id].validate(given)
            except ValueError as exc:
                raise InputError(str(exc), step_src) from None
            rule.steps.append(Step(action_id, params, step_src))
        rules.append(rule)
    return Playbook(path=path, rules=rules, allow_list=allow,
                    rate_limit=RateLimit(max_actions=max_actions, window=window))


def load_playbook(path: str) -> Playbook:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("playbook not found", Source(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read playbook: {exc}", Source(path)) from None
    return parse_playbook(text, path)


def bundled_playbook_path() -> str:
    return str(Path(__file__).resolve().parent / "playbooks" / "default.yaml")
