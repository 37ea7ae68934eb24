"""Secret detectors: small declarative units, found by walking this package.

Each module of this package exports ``DETECTORS``, a tuple of :class:`Detector`. Adding a detector is
adding one declaration (in the module of its vendor family, or a new module): no central switch to
edit. A duplicate id anywhere fails loudly when the registry loads.

A detector is a set of lower-case *keywords* (the one-pass prefilter: a line is only looked at when it
contains one of them), a regular expression that extracts the secret from such a line, and optional
checks on the extracted value (minimum entropy, a format or checksum validator, the sensitive-key test
used by the generic ``password=``-style detectors). Every detector carries positive and negative
examples: the test suite runs each one, so a declaration that does not find its own example fails.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

from cnsec.model.severity import Severity

#: Named groups a pattern may use for the secret, in priority order. ``dq``/``sq`` mark a value that
#: was quoted in the source (a string literal), ``bare`` an unquoted one.
VALUE_GROUPS = ("secret", "dq", "sq", "bq", "bare")


@dataclass(frozen=True, slots=True)
class Detector:
    id: str
    title: str
    severity: Severity
    keywords: tuple[str, ...]
    pattern: str
    #: For formats without a distinctive literal: an RE2/Hyperscan-compatible, case-sensitive regex used
    #: by the prefilter instead of (or besides) keywords. It must match wherever ``pattern`` matches.
    anchor: str | None = None
    description: str = ""
    #: Shannon entropy (bits per char) the secret must reach.
    min_entropy: float = 0.0
    min_length: int = 1
    #: Extra format check on the secret (checksum, structure, decodes as JSON...).
    validate: Callable[[str], bool] | None = None
    #: Generic keyword-assignment detector: the value goes through the placeholder, reference and
    #: strength filters, and ``key_filter`` decides whether the assigned name is sensitive.
    generic: bool = False
    key_filter: Callable[[str], bool] | None = None
    ignore_case: bool = False
    #: Variant of ``pattern`` for source code, where only string literals are values (an unquoted
    #: right-hand side is an expression): fewer, cheaper matches in the most common files.
    code_pattern: str | None = None
    #: Literals that must all occur in the (lower-cased) text before the pattern runs: a cheap gate
    #: for detectors whose keywords are common words.
    requires: tuple[str, ...] = ()
    #: The pattern sees the candidate line plus this many following lines (PEM blocks, k8s env
    #: ``name:``/``value:`` pairs).
    extra_lines: int = 0
    #: How many leading characters of the secret are a fixed public prefix that is safe to show.
    reveal: int = 0
    examples: tuple[str, ...] = ()
    counter_examples: tuple[str, ...] = ()
    remediation: str = ("Revoke and rotate the credential, remove it from the file (and from history), "
                        "and load it at run time from a secret manager or a Kubernetes Secret.")
    tags: tuple[str, ...] = field(default=())

    @property
    def regex(self) -> re.Pattern[str]:
        return _compiled(self.pattern, self.ignore_case)

    @property
    def code_regex(self) -> re.Pattern[str]:
        return _compiled(self.code_pattern or self.pattern, self.ignore_case)


@cache
def _compiled(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE if ignore_case else 0)


class DuplicateDetectorError(RuntimeError):
    """Two detectors declare the same id: a packaging bug, never silently resolved."""


@cache
def all_detectors() -> tuple[Detector, ...]:
    """Every detector of this package, in a stable order (module name, then declaration order)."""
    found: list[Detector] = []
    seen: dict[str, str] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for det in getattr(module, "DETECTORS", ()):
            if det.id in seen:
                raise DuplicateDetectorError(
                    f"secret detector id {det.id!r} declared in both {seen[det.id]} and {info.name}")
            seen[det.id] = info.name
            found.append(det)
    return tuple(found)


def by_id() -> dict[str, Detector]:
    return {d.id: d for d in all_detectors()}
