"""Alerts: rule hits grouped per (rule, key), deduplicated and throttled within a window, counts kept.

Within ``window`` seconds (event time) of an alert's last hit, further hits on the same rule and key
fold into it: ``count`` grows, ``last_seen`` moves, evidence is kept up to ``max_evidence`` events (the
rest are counted, never silently dropped). A hit after the window opens a new alert.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from math import modf
from typing import Any

from cnsec.detect.engine import Match
from cnsec.detect.fields import first_text
from cnsec.detect.normalize import (
    MAX_TIME,
    MIN_TIME,
    SOURCES,
    key_getters,
    parse_time,
    split_key_field,
    time_getters,
)
from cnsec.detect.rules import Rule
from cnsec.model.event import Alert


def _iso_exact(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


_MINUTES: dict[float, str] = {}


@lru_cache(maxsize=4096)
def _iso(ts: float) -> str:
    """As ``Alert.to_dict`` writes times. Cached (bounded): an alert's first and last seen are
    mostly the times of evidence it keeps, formatted already.

    The minute is formatted once (a bounded memo) and the seconds and microseconds appended: split
    and rounded exactly as ``datetime.fromtimestamp`` does (``modf``, the fraction times 10**6
    rounded half to even, carried into the seconds), and written as ``isoformat`` writes them."""
    try:
        frac, whole = modf(ts)
        us = round(frac * 1e6)
    except (ValueError, OverflowError):
        return _iso_exact(ts)  # not a number: fails as datetime fails
    if us >= 1_000_000:
        us -= 1_000_000
        whole += 1.0
    elif us < 0:
        us += 1_000_000
        whole -= 1.0
    second = whole % 60.0  # whole seconds into the minute, 0 to 59 (also before 1970)
    minute = whole - second
    base = _MINUTES.get(minute)
    if base is None:
        if len(_MINUTES) >= 4096:
            _MINUTES.clear()
        try:
            base = _iso_exact(minute)[:-3]  # "…THH:MM:"
        except (ValueError, OverflowError, OSError):
            return _iso_exact(ts)
        _MINUTES[minute] = base
    return f"{base}{int(second):02d}.{us:06d}Z" if us else f"{base}{int(second):02d}Z"


def _evidence(name: str, line: int | None, source: str, data: dict[str, Any], ts: float) -> dict[str, Any]:
    return {"origin": name if line is None else f"{name}:{line}", "time": _iso(ts), "source": source,
            "event": data}


def _time_reader(fields: tuple[str, ...]) -> Callable[[dict[str, Any]], float | None]:
    """``time_from`` for one source's time fields, with top-level RFC 3339 strings read inline."""
    getters = time_getters(fields)
    plan = tuple((f, get, "." not in f) for f, get in zip(fields, getters, strict=True))
    fromisoformat = datetime.fromisoformat

    def read(data: dict[str, Any]) -> float | None:
        for f, get, plain in plan:
            if plain:
                v = data.get(f)
                if v.__class__ is str:
                    try:  # the common case, as parse_time reads it first
                        dt = fromisoformat(v)
                        if dt.tzinfo is not None:
                            stamp = dt.timestamp()
                            if MIN_TIME <= stamp <= MAX_TIME:  # as parse_time checks it
                                return stamp
                    except ValueError:
                        pass
                    t = parse_time(v)
                elif v is None:
                    continue
                else:
                    t = parse_time(first_text(data, get))
            else:
                t = parse_time(first_text(data, get))
            if t is not None:
                return t
        return None
    if not plan or not plan[0][2]:
        return read
    first = fields[0]
    last_text: str | None = None  # no string equals it before the first time is read
    last_time = 0.0

    def read_first(data: dict[str, Any]) -> float | None:  # the usual event: its first field holds the time
        nonlocal last_text, last_time
        v = data.get(first)
        if v.__class__ is str:
            if v == last_text:  # the same time as the event before (whole-second times: CloudTrail)
                return last_time
            try:
                dt = fromisoformat(v)
                if dt.tzinfo is not None:
                    t = dt.timestamp()
                    if MIN_TIME <= t <= MAX_TIME:
                        last_time = t
                        last_text = v
                        return t
            except ValueError:
                pass
        return read(data)  # from the first field again, the whole way
    return read_first


def _key_reader(specs: tuple[str, ...]) -> Callable[[dict[str, Any]], str]:
    """``key_from`` for one set of key fields, with plain strings one or two keys deep read inline."""
    getters = key_getters(specs)
    steps = []
    for (label, get), spec in zip(getters, specs, strict=True):
        parts = split_key_field(spec)[1].split(".")
        steps.append((label + "=", get, parts[0], parts[1] if len(parts) == 2 else None, len(parts) <= 2))

    def key(data: dict[str, Any]) -> str:
        for label, get, first, second, shallow in steps:
            if shallow:
                v = data.get(first)
                if second is not None and v.__class__ is dict:
                    v = v.get(second)
                elif second is not None:
                    v = None
                if v.__class__ is str:
                    if v:
                        return label + v
                    continue
            t = first_text(data, get)
            if t:
                return label + t
        return "-"
    if not steps or not steps[0][4]:
        return key
    label0, _get, first0, second0, _shallow = steps[0]
    if second0 is None:
        def key_one(data: dict[str, Any]) -> str:  # the usual event: a plain string in the first field
            v = data.get(first0)
            if v.__class__ is str and v:
                return label0 + v
            return key(data)  # from the first field again, the whole way
        return key_one

    def key_two(data: dict[str, Any]) -> str:
        a = data.get(first0)
        if a.__class__ is dict:
            v = a.get(second0)
            if v.__class__ is str and v:
                return label0 + v
        return key(data)
    return key_two


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
    _readers: dict[tuple[str, ...], Any] = field(default_factory=dict)
    #: hit count at which ``_on_every`` runs next (None: never); see :meth:`every`
    _due: int | None = None
    _every: int = 0
    _on_every: Callable[[], object] | None = None

    def every(self, hits: int, callback: Callable[[], object]) -> None:
        """Call ``callback`` after every ``hits`` hits, right after the hit that completes them
        (before the next one folds): streaming output closes and writes alerts there."""
        self._every = hits
        self._on_every = callback
        self._due = self.hits + hits

    def _key_reader(self, specs: tuple[str, ...]) -> Callable[[dict[str, Any]], str]:
        reader = self._readers.get(specs)
        if reader is None:
            reader = self._readers[specs] = _key_reader(specs)
        return reader

    def add(self, match: Match) -> Alert | None:
        """Record a hit; returns the alert when the hit opened a new one (for live output)."""
        return self.add_event((match.rule,), match.data, match.origin, None, match.source)

    def add_event(self, rules: Sequence[Rule], data: dict[str, Any], name: str, line: int | None,
                  source: str) -> Alert | None:
        """Record the hits of one event on ``rules``, in order: the same as one :meth:`add` per rule,
        with the event's time and key read once. The origin (``name:line``, or ``name`` when
        ``line`` is None) is only formatted for evidence that is kept. Returns the alert the last
        hit opened, if it opened one."""
        hits = self.hits + len(rules)
        due = self._due
        if due is not None and hits >= due:
            return self._add_each(rules, data, name, line, source)
        self.hits = hits
        times = self._times.get(source)
        if times is None:
            times = self._times[source] = _time_reader(SOURCES[source].time_fields)
        ts = times(data)
        if ts is None:  # an event without a usable time: the latest seen, else now
            ts = self.last_time or time.time()
        elif ts > self.last_time:
            self.last_time = ts
        window = self.window
        max_evidence = self.max_evidence
        alerts = self.open
        readers = self._keys
        opened: Alert | None = None
        last_keys: Any = None
        key = ""
        for rule in rules:
            rule_id = rule.id
            keys = readers.get(rule_id)
            if keys is None:
                keys = readers[rule_id] = self._key_reader(rule.key_fields or SOURCES[source].key_fields)
            if keys is not last_keys:  # most rules of a source share its key fields
                key = keys(data)
                last_keys = keys
            slot = (rule_id, key)
            current = alerts.get(slot)
            opened = None
            if current is not None:
                last_seen = current.last_seen
                if ts - last_seen <= window:
                    current.count += 1
                    if ts > last_seen:  # the usual case: time moves on
                        current.last_seen = ts
                    elif ts < current.first_seen:
                        current.first_seen = ts
                    evidence = current.evidence
                    if len(evidence) < max_evidence:
                        evidence.append(_evidence(name, line, source, data, ts))
                    continue
                self.closed.append(current)
            # positional, in Alert's field order (a test holds it): a third of the time of keywords
            opened = alerts[slot] = Alert(
                rule_id, rule.title, rule.severity, rule.threat_id, key, ts, ts,
                [_evidence(name, line, source, data, ts)], 1, rule.action, rule.attack_ids, ts,
            )
        return opened

    def _add_each(self, rules: Sequence[Rule], data: dict[str, Any], name: str, line: int | None,
                  source: str) -> Alert | None:
        """The hits of one event one by one, the callback of :meth:`every` between them when due."""
        opened = None
        for rule in rules:
            due = self._due
            assert due is not None and self._on_every is not None
            self._due = None  # this hit alone takes the plain path
            try:
                opened = self.add_event((rule,), data, name, line, source)
            finally:
                self._due = due
            if self.hits >= due:
                self._due = self.hits + self._every
                self._on_every()
        return opened

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
    """The jsonl shape (``Alert.to_dict``, the same keys in the same order, built here with cached
    time formatting: output writes one per alert) plus how many hits the evidence leaves out."""
    return {
        "rule_id": alert.rule_id,
        "title": alert.title,
        "severity": alert.severity.label,
        "threat_id": alert.threat_id,
        "key": alert.key,
        "first_seen": _iso(alert.first_seen),
        "last_seen": _iso(alert.last_seen),
        "count": alert.count,
        "action": alert.action,
        "attack_ids": list(alert.attack_ids),
        "evidence": alert.evidence,
        "evidence_omitted": max(0, alert.count - len(alert.evidence)),
    }
