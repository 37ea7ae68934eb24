"""Where something came from: every asset, finding and error carries one."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Source:
    """A file and a 1-based line (``None`` when the line is unknown, e.g. stdin JSON)."""

    file: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    def to_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line}
