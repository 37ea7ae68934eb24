"""Events, signs and alerts: the detect & respond half of the model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cnsec.model.severity import Severity


@dataclass(slots=True)
class Event:
    """One normalized observation. ``data`` keeps the original fields (rules match on them)."""

    source: str  # k8s-audit, cloudtrail, gcp-audit, falco, metrics, access-log, json
    timestamp: float  # epoch seconds, UTC
    data: dict[str, Any]
    origin: str = ""  # file:line it came from


@dataclass(frozen=True, slots=True)
class Sign:
    """Something observable that reveals a threat: a rule match or a metric condition over a window."""

    id: str
    description: str
    rule_id: str | None = None
    metric: str | None = None


def _walk(value: Any) -> bytes:
    """``value`` (JSON data) as bytes, walked with a stack of its own: for events nested past what
    orjson writes (255 levels). Containers say their length, so the bytes tell structures apart."""
    out: list[bytes] = []
    stack: list[Any] = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            out.append(b"{%d" % len(v))
            for k, item in reversed(list(v.items())):
                stack += (item, repr(k))
        elif isinstance(v, list | tuple):
            out.append(b"[%d" % len(v))
            stack.extend(reversed(v))
        else:
            out.append(repr(v).encode("utf-8", "backslashreplace") + b"\0")
    return b"".join(out)


def alert_id(rule_id: str, key: str, opened: float, opening: dict[str, Any] | None = None) -> str:
    """The deterministic id of the alert ``rule_id`` raised for ``key`` in the window its hit at
    ``opened`` (event time) opened, on the evidence ``opening`` (that hit's event; where it was read
    is left out). Equal in every process and run that saw the same events, however the input was split
    into streams, so a redelivered event updates the alert it made instead of making a second one. The
    opening event tells apart two alerts that open at the same time for the same rule and key (an
    alert closed early, then a late event: input out of time order by more than the window)."""
    from hashlib import blake2b

    import orjson

    h = blake2b(f"{rule_id}\x1f{key}\x1f{opened!r}\x1f".encode(), digest_size=16)
    if opening is not None:
        what = {k: v for k, v in opening.items() if k != "origin"}
        try:
            h.update(orjson.dumps(what))
        except TypeError:  # nested deeper than orjson writes, or keys that are not strings
            h.update(b"\x1e" + _walk(what))
    return h.hexdigest()


@dataclass(slots=True)
class Alert:
    """Hits of one rule on one key within a window. ``opened`` is the event time of the hit that opened
    it (``first_seen`` may move earlier when an earlier event arrives late); with the rule and key it
    makes :attr:`id`. Not in :meth:`to_dict`: ``cnsec detect`` output is unchanged by it."""

    rule_id: str
    title: str
    severity: Severity
    threat_id: str | None
    key: str
    first_seen: float
    last_seen: float
    evidence: list[dict[str, Any]] = field(default_factory=list)
    count: int = 1
    action: str | None = None
    attack_ids: tuple[str, ...] = ()
    opened: float | None = None
    #: :attr:`id` once worked out (what it is made of never changes after the alert opens)
    ident: str | None = None

    @property
    def id(self) -> str:
        """:func:`alert_id` of the window this alert opened and its first evidence (``first_seen`` for
        an alert made elsewhere, e.g. read back from jsonl)."""
        if self.ident is None:
            self.ident = alert_id(self.rule_id, self.key, self.first_seen if self.opened is None else self.opened,
                                  self.evidence[0] if self.evidence else None)
        return self.ident

    def to_dict(self) -> dict[str, Any]:
        from datetime import UTC, datetime

        def iso(ts: float) -> str:
            return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")

        return {
            "rule_id": self.rule_id,
            "title": self.title,
            "severity": self.severity.label,
            "threat_id": self.threat_id,
            "key": self.key,
            "first_seen": iso(self.first_seen),
            "last_seen": iso(self.last_seen),
            "count": self.count,
            "action": self.action,
            "attack_ids": list(self.attack_ids),
            "evidence": self.evidence,
        }
