"""Alerts: rule hits grouped per (rule, key), deduplicated and throttled within a window, counts kept.

Within ``window`` seconds (event time) of an alert's last hit, further hits on the same rule and key
fold into it: ``count`` grows, ``last_seen`` moves, evidence is kept up to ``max_evidence`` events (the
rest are counted, never silently dropped). A hit after the window opens a new alert.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cnsec.detect.engine import Match
from cnsec.detect.normalize import SOURCES, key_from, key_getters, time_from, time_getters
from cnsec.model.event import Alert


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


@dataclass
class AlertBook:
    window: float = 300.0
    max_evidence: int = 5
    open: dict[tuple[str, str], Alert] = field(default_factory=dict)
    closed: list[Alert] = field(default_factory=list)
    last_time: float = 0.0
    hits: int = 0
    _keys: dict[str, Any] = field(default_factory=dict)
    _times: dict[str, Any] = field(default_factory=dict)

    def add(self, match: Match) -> Alert | None:
        """Record a hit; returns the alert when the hit opened a new one (for live output)."""
        self.hits += 1
        rule = match.rule
        data = match.data
        times = self._times.get(match.source)
        if times is None:
            times = self._times[match.source] = time_getters(SOURCES[match.source].time_fields)
        ts = time_from(times, data)
        if ts is None:  # an event without a usable time: the latest seen, else now
            ts = self.last_time or time.time()
        elif ts > self.last_time:
            self.last_time = ts
        keys = self._keys.get(rule.id)
        if keys is None:
            keys = self._keys[rule.id] = key_getters(rule.key_fields or SOURCES[match.source].key_fields)
        key = key_from(keys, data)
        slot = (rule.id, key)
        current = self.open.get(slot)
        if current is not None and ts - current.last_seen <= self.window:
            current.count += 1
            if ts < current.first_seen:
                current.first_seen = ts
            if ts > current.last_seen:
                current.last_seen = ts
            if len(current.evidence) < self.max_evidence:
                current.evidence.append(self._evidence(match, ts))
            return None
        evidence = self._evidence(match, ts)
        if current is not None:
            self.closed.append(current)
        alert = Alert(
            rule_id=rule.id, title=rule.title, severity=rule.severity, threat_id=rule.threat_id, key=key,
            first_seen=ts, last_seen=ts, evidence=[evidence], count=1, action=rule.action,
            attack_ids=rule.attack_ids,
        )
        self.open[slot] = alert
        return alert

    @staticmethod
    def _evidence(match: Match, ts: float) -> dict[str, Any]:
        return {"origin": match.origin, "time": _iso(ts), "source": match.source, "event": match.data}

    def close_expired(self, now: float) -> None:
        """Close alerts whose window has passed (``now`` in event time)."""
        done = [s for s, a in self.open.items() if now - a.last_seen > self.window]
        for s in done:
            self.closed.append(self.open.pop(s))

    def take_closed(self) -> list[Alert]:
        """Hand over the closed alerts (streaming output): memory stays bounded by the open ones."""
        out, self.closed = self.closed, []
        return out

    def alerts(self) -> list[Alert]:
        every = self.closed + list(self.open.values())
        return sorted(every, key=lambda a: (a.first_seen, -int(a.severity), a.rule_id, a.key))


def alert_dict(alert: Alert) -> dict[str, Any]:
    """The jsonl shape (``Alert.to_dict``) plus how many hits the evidence leaves out."""
    d = alert.to_dict()
    d["evidence_omitted"] = max(0, alert.count - len(alert.evidence))
    return d
