"""The check registry: a check is metadata plus one function, found by walking this package.

A check module declares itself with :func:`check`; :func:`registry` imports every module under
``cnsec.assess.checks`` once and fails loudly on a duplicate id, an unknown threat or control.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from cnsec.model.report import RuleInfo
from cnsec.model.severity import Severity

#: What a check function receives: a Kubernetes resource, a workload (its pod spec and containers),
#: a Dockerfile, a Terraform resource, the whole inventory (for cross-resource checks), or ``files``:
#: an inventory of whole files, the whole one or a part of it, for checks whose findings on a file
#: depend on that file alone (its text and its resources); those run beside the parser.
TARGETS = ("k8s", "workload", "dockerfile", "terraform", "inventory", "files")


@dataclass(slots=True)
class Hit:
    """One problem a check found. The engine turns it into a :class:`~cnsec.model.Finding`.

    ``path`` is the path inside the resource (keys and list indexes) of the offending value: it gives
    the line and the stable location of the finding. ``patch`` is an RFC 6902 JSON patch that fixes
    it; ``fix`` is a fix in the file's own language (HCL, Dockerfile) where a JSON patch does not fit.
    ``resource`` is only for inventory checks, which must say which resource a hit is about.
    """

    message: str
    path: tuple[str | int, ...] = ()
    line: int | None = None
    patch: list[dict[str, Any]] | None = None
    fix: str | None = None
    location: str | None = None
    resource: Any = None


CheckFn = Callable[..., Iterable[Hit]]


@dataclass(frozen=True, slots=True)
class Check:
    id: str
    title: str
    severity: Severity
    target: str
    threats: tuple[str, ...]
    control: str
    remediation: str
    fn: CheckFn
    description: str = ""
    kinds: frozenset[str] | None = None  # k8s: only these kinds
    resource_types: frozenset[str] | None = None  # terraform: only these types
    equivalents: dict[str, tuple[str, ...]] = field(default_factory=dict)
    module: str = ""
    sensitive: bool = False  # its findings point at secrets: their lines are masked in every snippet

    def run(self, item: Any, ctx: Any) -> Iterable[Hit]:
        # the check's own iterable, not a wrapping generator: one frame less on ~100k calls a run
        return self.fn(item, ctx)

    @property
    def info(self) -> RuleInfo:
        return RuleInfo(
            id=self.id, title=self.title, severity=self.severity, description=self.description,
            remediation=self.remediation, threat_ids=self.threats, control_id=self.control,
            equivalents=self.equivalents, target=self.target,
        )


_PENDING: list[Check] = []


def check(
    *,
    id: str,
    title: str,
    severity: Severity,
    target: str,
    threats: tuple[str, ...],
    control: str,
    remediation: str,
    equivalents: dict[str, tuple[str, ...]] | None = None,
    kinds: Iterable[str] | None = None,
    resource_types: Iterable[str] | None = None,
    sensitive: bool = False,
) -> Callable[[CheckFn], CheckFn]:
    """Declare a check. The function's docstring is its description (why it matters)."""
    if target not in TARGETS:
        raise ValueError(f"{id}: unknown target {target!r} (expected one of {TARGETS})")

    def wrap(fn: CheckFn) -> CheckFn:
        _PENDING.append(Check(
            id=id, title=title, severity=severity, target=target, threats=tuple(threats),
            control=control, remediation=remediation, fn=fn,
            description=" ".join((fn.__doc__ or "").split()),
            kinds=frozenset(kinds) if kinds is not None else None,
            resource_types=frozenset(resource_types) if resource_types is not None else None,
            equivalents={k: tuple(v) for k, v in (equivalents or {}).items()},
            module=fn.__module__, sensitive=sensitive,
        ))
        return fn

    return wrap


_REGISTRY: dict[str, Check] | None = None


def registry() -> dict[str, Check]:
    """All checks by id, sorted; imports every check module once."""
    global _REGISTRY
    if _REGISTRY is not None:
        return _REGISTRY
    import cnsec.assess.checks as pkg
    from cnsec.assess.controls import control_catalog
    from cnsec.model.threat import threat_catalog

    for mod in pkgutil.walk_packages(pkg.__path__, prefix="cnsec.assess.checks."):
        if mod.name.endswith(".base"):
            continue
        importlib.import_module(mod.name)
    threats = threat_catalog()
    controls = control_catalog()
    found: dict[str, Check] = {}
    for c in _PENDING:
        if c.id in found:
            raise RuntimeError(f"duplicate check id {c.id} in {c.module} and {found[c.id].module}")
        unknown = [t for t in c.threats if t not in threats]
        if unknown:
            raise RuntimeError(f"check {c.id}: unknown threat ids {unknown}")
        if c.control not in controls:
            raise RuntimeError(f"check {c.id}: unknown control {c.control!r}")
        found[c.id] = c
    _REGISTRY = dict(sorted(found.items()))
    return _REGISTRY
