"""Detection rules over signs: all / any / N of / ordered sequence within a window, per group key, naming
the response action; and Sigma's counting correlations (event_count, value_count) on the same state.

Every rule keeps its per-group state in an :class:`LRU` (bounded, evictions counted); state older than
the rule's window is dropped as soon as the group is touched again.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cnsec.detect.correlate.signs import Occurrence
from cnsec.detect.correlate.state import LRU
from cnsec.model.severity import Severity

KEY_LABELS = {"src_ip": "ip", "user": "user", "pod": "pod", "service": "service"}
GroupFn = Callable[[Occurrence], str | None]


def key_label(field_name: str, value: str) -> str:
    """The alert key in the ``label=value`` form the respond actions read (``ip=…``, ``user=…``)."""
    return f"{KEY_LABELS.get(field_name, field_name)}={value}"


@dataclass
class Fire:
    rule: Any
    key: str
    first: float
    last: float
    evidence: list[dict[str, Any]]


@dataclass
class ThreatRule:
    id: str
    title: str
    threat_id: str | None
    severity: Severity
    action: str | None
    signs: tuple[str, ...]
    mode: str  # all | any | n_of | sequence
    window: float
    group_by: str | None
    max_keys: int
    n: int = 1
    alert_key: str | None = None
    attack_ids: tuple[str, ...] = ()
    description: str = ""
    cooldown: float | None = None
    kind: str = "threat"
    group_fn: GroupFn | None = None
    state: LRU[Any] = field(init=False)

    def __post_init__(self) -> None:
        self.state = LRU(self.max_keys)
        if self.mode == "all":
            self.n = len(set(self.signs))
        elif self.mode == "any":
            self.n = 1

    def group(self, occ: Occurrence) -> str | None:
        if self.group_fn is not None:
            return self.group_fn(occ)
        if self.group_by is None:
            return "*"
        v = occ.fields.get(self.group_by)
        return None if v is None else str(v)

    def on(self, occ: Occurrence) -> Fire | None:
        g = self.group(occ)
        if g is None:
            return None
        if self.mode == "sequence":
            return self._sequence(g, occ)
        st = self.state.touch(g)
        if st is None:
            st = {}
            self.state.put(g, st)
        st[occ.sign] = occ
        horizon = occ.ts - self.window
        for s in [s for s, o in st.items() if o.ts < horizon]:
            del st[s]
        if len(st) < self.n:
            return None
        used = sorted(st.values(), key=lambda o: (o.ts, o.sign))
        if self.mode != "any":
            self.state.pop(g, None)
        return self._fire(g, occ, used)

    def _sequence(self, g: str, occ: Occurrence) -> Fire | None:
        progress: list[tuple[float, list[Occurrence]] | None] | None = self.state.touch(g)
        if progress is None:
            progress = [None] * len(self.signs)
            self.state.put(g, progress)
        t = occ.ts
        for i in range(len(self.signs) - 1, -1, -1):  # last step first: one occurrence, one step
            if self.signs[i] != occ.sign:
                continue
            if i == 0:
                progress[0] = (t, [occ])
                continue
            prev = progress[i - 1]
            if prev is None or t - prev[0] > self.window:
                continue
            progress[i] = (prev[0], prev[1] + [occ])
        done = progress[-1]
        if done is None:
            return None
        self.state.pop(g, None)
        return self._fire(g, occ, done[1])

    def _fire(self, g: str, occ: Occurrence, used: list[Occurrence]) -> Fire:
        key = "-" if g == "*" else (key_label(self.group_by, g) if self.group_by else g)
        if self.alert_key:
            v = occ.fields.get(self.alert_key)
            if v is not None:
                key = key_label(self.alert_key, str(v))
        return Fire(self, key, min(o.ts for o in used), occ.ts, [o.evidence for o in used])


@dataclass
class CountRule:
    """Sigma ``event_count`` / ``value_count``: how many events (or distinct values) per group within
    the timespan, tested on every new event (so ``gt``/``gte``/``eq`` fire as soon as it holds)."""

    id: str
    title: str
    threat_id: str | None
    severity: Severity
    action: str | None
    signs: tuple[str, ...]
    window: float
    op: str
    count: float
    max_keys: int
    group_fn: GroupFn
    value_fn: Callable[[Occurrence], str | None] | None = None
    attack_ids: tuple[str, ...] = ()
    description: str = ""
    cooldown: float | None = None
    kind: str = "sigma-correlation"
    mode: str = "event_count"
    state: LRU[Any] = field(init=False)

    def __post_init__(self) -> None:
        self.state = LRU(self.max_keys)

    def on(self, occ: Occurrence) -> Fire | None:
        g = self.group_fn(occ)
        if g is None:
            return None
        st = self.state.touch(g)
        horizon = occ.ts - self.window
        if self.value_fn is None:
            if st is None:
                st = deque()
                self.state.put(g, st)
            st.append(occ)
            while st and st[0].ts < horizon:
                st.popleft()
            n = float(len(st))
            used = list(st)
        else:
            v = self.value_fn(occ)
            if v is None:
                return None
            if st is None:
                st = {}
                self.state.put(g, st)
            st.pop(v, None)
            st[v] = occ
            for old in [k for k, o in st.items() if o.ts < horizon]:
                del st[old]
            n = float(len(st))
            used = list(st.values())
        ok = {"gt": n > self.count, "gte": n >= self.count, "eq": n == self.count}.get(self.op, False)
        if not ok:
            return None
        self.state.pop(g, None)
        evidence = [o.evidence for o in used[-10:]]
        return Fire(self, g, used[0].ts, occ.ts, evidence)
