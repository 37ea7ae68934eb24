"""What the bus needs of a detection engine, and what it carries: small protocols, so the transport
does not depend on the detect pillar's modules (``cnsec detect --bus`` hands the engine in)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class AlertUpdate(Protocol):
    """One version of an alert: ``id`` is deterministic (rule, key, window start) and ``count`` grows
    with each hit, so ``(id, count)`` names the version (the JetStream de-duplication id)."""

    @property
    def id(self) -> str: ...

    @property
    def count(self) -> int: ...

    @property
    def full(self) -> bool:
        """Whether :meth:`to_dict` carries ``evidence`` (it changed since the alert's last update);
        without it, the evidence is that of the last update that had it."""

    def to_dict(self) -> dict[str, Any]: ...

    def to_json(self, limit: int | None = None) -> bytes:
        """``to_dict()`` as compact JSON (what goes on the alerts stream), in at most ``limit`` bytes
        (evidence left out to fit, and said)."""


class Problem(Protocol):
    """An input the engine could not take (unparseable line, a rule that raised), named by place."""

    @property
    def file(self) -> str: ...

    @property
    def line(self) -> int | None: ...

    @property
    def message(self) -> str: ...


class Processor(Protocol):
    """The detection engine as a library: events in, alert updates out, state snapshot/restore."""

    problems: list[Any]

    def feed(self, lines: Sequence[tuple[int, bytes]], source: str | None, name: str) -> None: ...

    def updates(self) -> Sequence[AlertUpdate]:
        """The alerts opened or grown since the last call, each once as it stands: the same for the
        same state and events (the bus names their message by the events' stream sequence)."""

    def flush(self) -> Sequence[AlertUpdate]: ...

    def snapshot(self) -> bytes: ...

    def restore(self, blob: bytes) -> None: ...


class Record(Protocol):
    """One event as the bus carries it: its source, where it was read (input name and line), its
    correlation key (which partition it goes to) and the event itself, one line of JSON."""

    @property
    def source(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def line(self) -> int: ...

    @property
    def key(self) -> str: ...

    @property
    def raw(self) -> bytes: ...
