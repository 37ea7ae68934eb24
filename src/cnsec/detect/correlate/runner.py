"""The correlator: time-ordered records → signs → threat rules → alerts, with bounded state.

Records must arrive in event-time order (:mod:`cnsec.detect.correlate.inputs` sorts and merges them).
Before a record is handled, every window that ended at or before its time is closed, in time order,
so window signs and single-event signs reach the rules in the order they happened.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cnsec.detect.correlate.catalog import Catalog
from cnsec.detect.correlate.rules import CountRule, Fire, ThreatRule
from cnsec.detect.correlate.signs import EventSign, Occurrence, WindowSign
from cnsec.detect.correlate.state import evictions
from cnsec.errors import UsageError
from cnsec.model.event import Alert
from cnsec.model.source import Source

STATE_VERSION = 1
Record = dict[str, Any]
NO_ALERTS: list[Alert] = []
NO_PLAN: tuple[list[Any], list[Any]] = ([], [])


@dataclass
class AlertBook:
    """Repeated fires of one rule for one key within the cooldown fold into one alert (counted)."""

    max_evidence: int = 10
    alerts: dict[tuple[str, str], Alert] = field(default_factory=dict)
    closed: list[Alert] = field(default_factory=list)

    def add(self, fire: Fire) -> Alert | None:
        rule = fire.rule
        slot = (rule.id, fire.key)
        cooldown = rule.cooldown if rule.cooldown is not None else max(rule.window, 1800.0)
        current = self.alerts.get(slot)
        if current is not None and fire.first - current.last_seen <= cooldown:
            current.count += 1
            current.last_seen = max(current.last_seen, fire.last)
            room = self.max_evidence - len(current.evidence)
            if room > 0:
                current.evidence.extend(fire.evidence[:room])
            return None
        if current is not None:
            self.closed.append(current)
        alert = Alert(rule_id=rule.id, title=rule.title, severity=rule.severity, threat_id=rule.threat_id,
                      key=fire.key, first_seen=fire.first, last_seen=fire.last,
                      evidence=list(fire.evidence[: self.max_evidence]), count=1, action=rule.action,
                      attack_ids=tuple(rule.attack_ids), opened=fire.first)
        self.alerts[slot] = alert
        return alert

    def all(self) -> list[Alert]:
        every = self.closed + list(self.alerts.values())
        return sorted(every, key=lambda a: (a.first_seen, -int(a.severity), a.rule_id, a.key))


class Correlator:
    def __init__(self, catalog: Catalog, *, max_evidence: int = 10) -> None:
        self.catalog = catalog
        self.book = AlertBook(max_evidence=max_evidence)
        self.window_signs = [s for s in catalog.signs.values() if isinstance(s, WindowSign)]
        self.event_signs = [s for s in catalog.signs.values() if isinstance(s, EventSign)]
        self.rules_by_sign: dict[str, list[ThreatRule | CountRule]] = {}
        for r in catalog.rules:
            for sid in dict.fromkeys(r.signs):
                self.rules_by_sign.setdefault(sid, []).append(r)
        self.order = {sid: i for i, sid in enumerate(catalog.signs)}
        # dispatch tables: metric records by metric name, other records by kind
        self.by_metric: dict[str, list[WindowSign]] = {}
        by_kind: dict[str, dict[str | None, list[WindowSign]]] = {}
        for s in self.window_signs:
            kinds = s.kinds or frozenset(("metric", "access", "iam", "app", "event"))
            if "metric" in kinds and s.field is not None:
                self.by_metric.setdefault(s.field, []).append(s)
            for k in sorted(kinds - {"metric"}):
                by_kind.setdefault(k, {}).setdefault(s.field, []).append(s)
        #: per kind: (the field a group of signs needs, or None, and those signs)
        self.window_by_kind: dict[str, list[tuple[str | None, list[WindowSign]]]] = {
            k: list(groups.items()) for k, groups in by_kind.items()}
        self.match_by_kind: dict[str, list[EventSign]] = {}
        self.by_rule: dict[str, list[EventSign]] = {}
        for e in self.event_signs:
            for rid in e.rule_ids:
                self.by_rule.setdefault(rid, []).append(e)
            if e.where is not None:
                for k in e.kinds or frozenset(("access", "iam", "app", "event", "metric")):
                    self.match_by_kind.setdefault(k, []).append(e)
        #: per kind: (window-sign groups, record-condition signs), one lookup per record
        self.plan: dict[str, tuple[list[tuple[str | None, list[WindowSign]]], list[EventSign]]] = {
            k: (self.window_by_kind.get(k, []), self.match_by_kind.get(k, []))
            for k in ("access", "iam", "app", "event")}
        self.metric_matchers = self.match_by_kind.get("metric", [])
        self.next_close = -math.inf  # the first record starts the windows
        self.now = -math.inf
        self.records = 0
        self.fires = 0
        self.restored = 0

    # -- feeding ---------------------------------------------------------------------------------------
    def feed(self, rec: Record) -> list[Alert]:
        """Handle one record (records must come in time order); returns alerts opened by it (the
        returned list is shared when empty: do not modify it)."""
        ts = rec["_ts"]
        self.records += 1
        out: list[Alert] = NO_ALERTS
        if ts >= self.next_close:
            if self.now == -math.inf:
                self._start(ts)
            else:
                out = self._close(ts)
        self.now = ts
        kind = rec["_kind"]
        occs: list[Occurrence] | None = None
        metric = kind == "metric"
        if metric:
            groups: Any = ((None, self.by_metric.get(rec["__name__"], ())),)
            matchers = self.metric_matchers
        else:
            groups, matchers = self.plan.get(kind, NO_PLAN)
        for needs, targets in groups:
            if needs is not None and needs not in rec:
                continue
            for s in targets:
                pred = s.pred
                if pred is not None and not pred(rec):
                    continue
                o = s.add_metric(rec) if metric else s.add(rec)
                if o is not None:
                    (occs := occs or []).append(o)
        if kind == "event":
            for e in self.by_rule.get(rec["rule"], ()):
                (occs := occs or []).append(e.occurrence(rec))
        if matchers:
            for e in matchers:
                if e.where is not None and e.where.pred(rec):
                    (occs := occs or []).append(e.occurrence(rec))
        if occs:
            if out is NO_ALERTS:
                out = []
            for o in occs:
                out.extend(self._occur(o))
        return out

    def _start(self, ts: float) -> None:
        """The first record opens every sign's window (aligned), so no per-record check is needed."""
        for s in self.window_signs:
            s.begin(ts)
        self.next_close = min((s.end for s in self.window_signs), default=math.inf)

    def _close(self, ts: float, final: bool = False) -> list[Alert]:
        """Close every window ending at or before ``ts``, oldest first; each sign then opens the
        window that holds ``ts`` (the ones in between saw no record: nothing to judge)."""
        out: list[Alert] = []
        signs = self.window_signs
        while True:
            due = [s for s in signs if s.end <= ts and s.end != math.inf]
            if not due:
                break
            end = min(s.end for s in due)
            batch: list[Occurrence] = []
            for s in due:
                if s.end == end:
                    batch.extend(s.close())
                    if final:
                        s.start = s.end = math.inf
                    else:
                        s.begin(ts)
            batch.sort(key=lambda o: (o.ts, self.order[o.sign], str(sorted(o.fields.items()))))
            for o in batch:
                out.extend(self._occur(o))
        self.next_close = min((s.end for s in signs), default=math.inf)
        return out

    def _occur(self, occ: Occurrence) -> list[Alert]:
        out: list[Alert] = []
        for rule in self.rules_by_sign.get(occ.sign, ()):
            fire = rule.on(occ)
            if fire is not None:
                self.fires += 1
                alert = self.book.add(fire)
                if alert is not None:
                    out.append(alert)
        return out

    def finish(self) -> list[Alert]:
        """End of input: judge the open windows (partial windows too)."""
        if self.now == -math.inf:
            return []
        return self._close(math.inf, final=True)

    def alerts(self) -> list[Alert]:
        return self.book.all()

    # -- reporting -------------------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        tables: dict[str, Any] = {}
        for s in self.window_signs:
            tables[f"sign:{s.id}:window"] = s.accs
            tables[f"sign:{s.id}:baseline"] = s.baselines
        for r in self.catalog.rules:
            tables[f"rule:{r.id}"] = r.state
        ev = evictions(tables)
        return {
            "records": self.records, "signs": {s.id: s.fired for s in self.catalog.signs.values() if s.fired},
            "windows": sum(s.windows for s in self.window_signs),
            "baselines": sum(len(s.baselines) for s in self.window_signs),
            "rule_fires": self.fires, "alerts": len(self.book.all()),
            "live_keys": sum(len(t) for t in tables.values()),
            "evicted": sum(ev.values()), "evictions": ev, "baselines_restored": self.restored,
        }

    # -- persistence -----------------------------------------------------------------------------------
    def save_state(self, path: str | Path) -> None:
        from cnsec.fsutil import atomic_write_text

        doc = {"version": STATE_VERSION, "signs": {s.id: s.state() for s in self.window_signs
                                                   if s.expr.relative}}
        try:
            atomic_write_text(path, json.dumps(doc, separators=(",", ":"), sort_keys=True))
        except OSError as exc:
            raise UsageError(f"cannot write the state file: {exc.strerror}", Source(str(path))) from None

    def load_state(self, path: str | Path) -> None:
        p = Path(path)
        if not p.exists():
            return
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"unreadable state file ({exc}); delete it to start learning afresh",
                             Source(str(p))) from None
        if not isinstance(doc, dict) or doc.get("version") != STATE_VERSION:
            raise UsageError("state file of another version; delete it to start learning afresh",
                             Source(str(p)))
        saved = doc.get("signs", {})
        for s in self.window_signs:
            d = saved.get(s.id)
            if isinstance(d, dict):
                try:
                    if s.restore(d):
                        self.restored += 1
                except (KeyError, TypeError, ValueError) as exc:
                    raise UsageError(f"state file: sign {s.id}: {exc}", Source(str(p))) from None
