"""Detection rules: one :class:`Rule` shape for Sigma, native YAML and Python rules.

A rule is a *sign* (``Rule.sign()``): a single-event condition that reveals a threat. Issue 7's
correlation builds on exactly this object. Rules are found by discovery: every ``.yml``/``.yaml`` file
under a path is Sigma (has ``logsource``/``detection``) or native (has ``match``); every ``.py`` file
that defines ``RULE`` or ``RULES`` is a Python rule. The bundled content pack is the package
``cnsec.detect.rules.content``. A duplicate id fails loudly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from cnsec.errors import UsageError
from cnsec.model.event import Sign
from cnsec.model.severity import Severity

Pred = Callable[[dict[str, Any]], bool]


@dataclass
class Example:
    should_match: bool
    event: dict[str, Any]
    name: str = ""


@dataclass
class Rule:
    id: str
    title: str
    severity: Severity
    source: str | None  # which normalised source it runs on; None: a log cnsec does not read
    match: Pred
    reqs: list[frozenset[tuple[str, str, str]]] = field(default_factory=list)
    threat_id: str | None = None
    attack_ids: tuple[str, ...] = ()
    description: str = ""
    key_fields: tuple[str, ...] = ()
    kind: str = "native"  # sigma | native | python
    origin: str = ""
    examples: list[Example] = field(default_factory=list)
    action: str | None = None
    equivalents: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: ``match`` is exactly "every requirement in ``reqs`` is met" (see matcher.Node.exact)
    exact: bool = False
    #: given every exact-value requirement holds, the rule matches iff this does (None: it matches)
    residual: Pred | None = None
    residual_known: bool = False
    #: rough cost of ``match`` (matcher.Node.cost: 1 for a field equality); None when unknown
    cost: int | None = None
    #: what loading found worth telling the rule's author (``cnsec rules check`` shows it)
    notes: tuple[str, ...] = ()

    def sign(self) -> Sign:
        """This rule as a sign for threat correlation (issue 7): the sign id is the rule id."""
        return Sign(id=self.id, description=self.title, rule_id=self.id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "severity": self.severity.label,
            "source": self.source,
            "threat_id": self.threat_id,
            "attack_ids": list(self.attack_ids),
            "kind": self.kind,
            "origin": self.origin,
            "examples": len(self.examples),
            "equivalents": {k: list(v) for k, v in self.equivalents.items()},
        }


@dataclass(frozen=True)
class LoadFailure:
    path: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason}


@dataclass
class LoadResult:
    rules: list[Rule] = field(default_factory=list)
    failures: list[LoadFailure] = field(default_factory=list)
    files: int = 0
    #: of ``rules``, how many came from the user's paths (not the bundled pack)
    user_rules: int = 0

    def extend(self, other: LoadResult) -> None:
        self.rules.extend(other.rules)
        self.failures.extend(other.failures)
        self.files += other.files


SIGMA_LEVELS = {"informational": Severity.INFO, "low": Severity.LOW, "medium": Severity.MEDIUM,
                "high": Severity.HIGH, "critical": Severity.CRITICAL}


def _rule_files(path: Path) -> Iterator[Path]:
    if path.is_file():
        yield path
        return
    for p in sorted(path.rglob("*")):
        if p.is_file() and p.suffix in (".yml", ".yaml", ".py") and not p.name.startswith(("_", ".")):
            yield p


def load_file(path: Path, text: str | None = None) -> LoadResult:
    """Load every rule in one file; problems become :class:`LoadFailure` with the precise reason."""
    result = LoadResult(files=1)
    if path.suffix == ".py":
        from cnsec.detect.rules.pyrules import load_python_file
        return load_python_file(path)
    import yaml

    try:
        if text is None:
            text = path.read_text(encoding="utf-8")
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: 10x faster
        numbered = [(n, d) for n, d in enumerate(yaml.load_all(text, Loader=loader), 1)  # safe loader (C)
                    if d is not None]
    except (OSError, UnicodeDecodeError) as exc:
        result.failures.append(LoadFailure(str(path), f"cannot read: {exc}"))
        return result
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        result.failures.append(LoadFailure(str(path), f"invalid YAML{where}: {getattr(exc, 'problem', exc)}"))
        return result
    from cnsec.yamlsafe import shape_problem

    sound = []
    anchors = "&" in text  # without an anchor there is no alias to expand
    for n, doc in numbered:  # aliases can make a small file a huge (or endless) rule
        problem = shape_problem(doc) if anchors else None
        if problem is None:
            sound.append(doc)
        else:
            result.failures.append(LoadFailure(str(path), f"invalid YAML: document {n} {problem}"))
    if not sound:
        return result
    falco = falco_rules(sound)
    if falco:
        result.failures.append(LoadFailure(str(path), f"Falco rule files are not Sigma: {falco} here; cnsec "
                                           "loads Sigma, native YAML or Python rules (docs/detection.md). "
                                           "To use Falco's detections, run Falco and give its alerts to "
                                           "`cnsec detect --source falco`"))
        return result
    if all(isinstance(d, dict) and "match" in d for d in sound):
        from cnsec.detect.rules.native import load_native_docs
        loaded = load_native_docs(path, sound)
    else:
        from cnsec.detect.rules.sigma import load_sigma_docs
        loaded = load_sigma_docs(path, sound)
    loaded.failures[:0] = result.failures
    return loaded


FALCO_KINDS = ("rule", "macro", "list")


def falco_rules(docs: list[Any]) -> str | None:
    """What a Falco rules file holds ("48 rules, 45 macros, 18 lists"), or ``None`` when ``docs``
    is not one: Falco's files are a YAML list of ``- rule:`` / ``- macro:`` / ``- list:`` items (and
    ``required_engine_version``), a shape no Sigma rule (a mapping) has."""
    items = [item for d in docs if isinstance(d, list) for item in d]
    if not items or any(not isinstance(d, list) for d in docs) or not all(isinstance(i, dict) for i in items):
        return None
    counts = {kind: sum(1 for i in items if kind in i) for kind in FALCO_KINDS}
    if not any(counts.values()):
        return None
    return ", ".join(f"{n} {kind}{'s' if n != 1 else ''}" for kind, n in counts.items() if n)


def load_paths(paths: Iterable[str | Path]) -> LoadResult:
    result = LoadResult()
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise UsageError(f"rules path not found: {p}")
        for f in _rule_files(p):
            result.extend(load_file(f))
    check_unique(result.rules)
    return result


def bundled() -> LoadResult:
    """The default content pack (data files and Python rules in ``cnsec.detect.rules.content``)."""
    cached = _bundled()
    return LoadResult(list(cached.rules), list(cached.failures), cached.files)


@cache
def _bundled() -> LoadResult:
    result = LoadResult()
    root = resources.files("cnsec.detect.rules.content")
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        name = entry.name
        if name.startswith(("_", ".")) or not name.endswith((".yml", ".yaml", ".py")):
            continue
        if name.endswith(".py"):
            from cnsec.detect.rules.pyrules import load_python_module
            result.extend(load_python_module(f"cnsec.detect.rules.content.{name[:-3]}", name))
        else:
            result.extend(load_file(Path(f"bundled/{name}"), entry.read_text(encoding="utf-8")))
    check_unique(result.rules)
    return result


def check_unique(rules: list[Rule]) -> None:
    seen: dict[str, str] = {}
    for r in rules:
        if r.id in seen:
            raise UsageError(f"duplicate rule id {r.id}: in {seen[r.id]} and {r.origin}")
        seen[r.id] = r.origin


def threat_for_tags(attack_ids: Iterable[str], tactics: Iterable[str] = ()) -> str | None:
    """Map ATT&CK technique ids (and failing that, tactics) to a threat of the shared catalog."""
    from cnsec.model.threat import threat_catalog

    catalog = threat_catalog()
    ids = [a.upper() for a in attack_ids]
    for a in ids:  # exact technique first
        for t in catalog.values():
            if a in t.attack_ids:
                return t.id
    for a in ids:  # then the parent technique
        parent = a.split(".")[0]
        for t in catalog.values():
            if any(x.split(".")[0] == parent for x in t.attack_ids):
                return t.id
    by_tactic = {
        "privilege-escalation": "privilege-escalation", "privilege_escalation": "privilege-escalation",
        "defense-evasion": "defense-evasion", "defense_evasion": "defense-evasion",
        "credential-access": "credential-abuse", "credential_access": "credential-abuse",
        "exfiltration": "data-breach", "collection": "data-breach", "impact": "data-tampering",
        "persistence": "backdoor-persistence", "initial-access": "credential-abuse",
        "initial_access": "credential-abuse", "execution": "exec-in-container",
        "lateral-movement": "lateral-movement", "lateral_movement": "lateral-movement",
    }
    for tac in tactics:
        if tac.lower() in by_tactic:
            return by_tactic[tac.lower()]
    return None
