"""The one ordered severity scale used by every pillar."""

from __future__ import annotations

from enum import IntEnum


class Severity(IntEnum):
    """Ordered so that ``Severity.HIGH > Severity.MEDIUM`` holds; rendered lower-case."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    def __str__(self) -> str:
        return _LABELS[self]

    @property
    def label(self) -> str:
        # a tuple index, not ``self.name``: enum's name descriptor is slow and reports call this
        # once per finding
        return _LABELS[self]

    @classmethod
    def parse(cls, value: str | Severity) -> Severity:
        """Parse ``critical|high|medium|low|info`` (any case); raises ``ValueError`` otherwise."""
        if isinstance(value, Severity):
            return value
        try:
            return cls[str(value).strip().upper()]
        except KeyError:
            names = "|".join(s.label for s in sorted(cls, reverse=True))
            raise ValueError(f"unknown severity {value!r} (expected {names})") from None

    @property
    def sarif_level(self) -> str:
        return {4: "error", 3: "error", 2: "warning", 1: "note", 0: "note"}[int(self)]

    @property
    def security_severity(self) -> str:
        """GitHub code scanning's numeric severity (its bands: 9+ critical, 7+ high, 4+ medium)."""
        return {4: "9.5", 3: "8.0", 2: "5.5", 1: "2.0", 0: "0.0"}[int(self)]


_LABELS = tuple(s.name.lower() for s in sorted(Severity))
