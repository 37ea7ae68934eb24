"""Python rules, for what YAML cannot say (detection as code): metadata, a match function, examples.

A module defines ``RULE = PythonRule(...)`` (or ``RULES = [...]``)::

    RULE = PythonRule(
        id="CNSEC-AWS-010", title="...", severity="high", source="cloudtrail",
        threat="credential-abuse", attack=("T1078.004",),
        match=lambda e: ...,
        index={"eventName": ["GetObject", "ListObjects"]},   # optional: literal values it needs
        examples={"match": [{...}], "no_match": [{...}]},
    )
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cnsec.detect.normalize import SOURCES
from cnsec.detect.rules import Example, LoadFailure, LoadResult, Rule
from cnsec.model.severity import Severity


@dataclass
class PythonRule:
    id: str
    title: str
    severity: str
    source: str
    match: Callable[[dict[str, Any]], bool]
    threat: str | None = None
    attack: Sequence[str] = ()
    description: str = ""
    key: Sequence[str] = ()
    index: Mapping[str, Sequence[str]] = field(default_factory=dict)
    examples: Mapping[str, Sequence[dict[str, Any]]] = field(default_factory=dict)
    action: str | None = None
    equivalents: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def build(self, origin: str) -> Rule:
        from cnsec.model.threat import threat_catalog

        if self.source not in SOURCES:
            raise ValueError(f"unknown source {self.source!r}")
        if self.threat is not None and self.threat not in threat_catalog():
            raise ValueError(f"unknown threat {self.threat!r}")
        reqs = []
        if len(self.index) == 1:
            (path, values), = self.index.items()
            reqs = [frozenset(("eq", path, str(v).lower()) for v in values)]
        examples = [Example(flag, e, f"{name}[{i}]")
                    for flag, name in ((True, "match"), (False, "no_match"))
                    for i, e in enumerate(self.examples.get(name, ()))]
        user_fn = self.match

        def safe(d: dict[str, Any]) -> bool:
            try:
                return bool(user_fn(d))
            except (KeyError, TypeError, ValueError, AttributeError, IndexError):
                return False  # a rule written for one event shape meeting another: no match
        return Rule(
            id=self.id, title=self.title, severity=Severity.parse(self.severity), source=self.source,
            match=safe, reqs=reqs, threat_id=self.threat, attack_ids=tuple(self.attack),
            description=self.description, key_fields=tuple(self.key), kind="python", origin=origin,
            examples=examples, action=self.action,
            equivalents={k: tuple(v) for k, v in self.equivalents.items()},
        )


def _collect(module: Any, origin: str) -> LoadResult:
    result = LoadResult(files=1)
    found = list(getattr(module, "RULES", ()))
    if hasattr(module, "RULE"):
        found.append(module.RULE)
    for item in found:
        if not isinstance(item, PythonRule):
            result.failures.append(LoadFailure(origin, "RULE is not a PythonRule"))
            continue
        try:
            result.rules.append(item.build(origin))
        except ValueError as exc:
            result.failures.append(LoadFailure(origin, f"rule {item.id}: {exc}"))
    return result


def load_python_module(name: str, origin: str) -> LoadResult:
    return _collect(importlib.import_module(name), f"bundled/{origin}")


def load_python_file(path: Path) -> LoadResult:
    """Import a user's rule file (their own code: detection as code runs what it is given)."""
    spec = importlib.util.spec_from_file_location(f"cnsec_user_rule_{abs(hash(str(path)))}", path)
    if spec is None or spec.loader is None:
        return LoadResult(files=1, failures=[LoadFailure(str(path), "cannot import")])
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # a broken user file is a reported failure, not a crash
        reason = f"import failed: {type(exc).__name__}: {exc}"
        return LoadResult(files=1, failures=[LoadFailure(str(path), reason)])
    return _collect(module, str(path))
