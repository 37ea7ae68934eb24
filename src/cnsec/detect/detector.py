"""The detection engine as a library: events in, alert updates out, state snapshot and restore.

``cnsec detect`` reads files in one process; a bus worker or ``cnsec serve``'s ingest gets events in
batches, forever, and must survive restarts and redeliveries. :class:`Detector` is the same engine
(rule loading, the scan loop, the alert book, threat correlation) behind an interface for that::

    det = Detector.load(rules=["./rules"], default_rules=True, correlate=True)
    for batch in batches:
        for alert in det.feed(batch, name="cluster-a"):   # bytes lines, one JSON event each
            store(alert.id, alert)                        # upsert: the same id is the same alert
        problems = det.problems                           # this call's unreadable lines, raising rules
        checkpoint(det.snapshot())
    for alert in det.flush():                             # end of input
        store(alert.id, alert)

(``alert_record(alert)`` is an update as JSON. A process running a detector should ``gc.freeze()``
after loading it: see docs/detection.md.)

Semantics, held by tests/detect/test_detector*.py:

* ``feed`` returns the alerts these events changed (opened, or count grown), each a copy taken at the end
  of the call. Folding every update of ``feed`` and ``flush`` by :attr:`Alert.id` (last one wins) gives
  exactly the alerts ``cnsec detect -f jsonl`` writes for the same input (and ``-f json``: they
  differ only on input out of time order by more than the window), and, with ``correlate=True``, the
  threat alerts ``cnsec detect --threats`` writes for it (one input stream; see below).
* Alert ids depend on the rule, the key, the event time of the hit that opened the alert's window and
  that hit's event (not where it was read), nothing else: equal in every process and every run that
  saw the same events in the same order (:func:`cnsec.model.event.alert_id`).
* ``snapshot`` is canonical bytes (:mod:`cnsec.detect.snapshot`); ``Detector.load(same
  arguments).restore(blob)`` resumes exactly where it was taken, so feeding the rest gives what one pass
  gives, and feeding again events fed after the snapshot gives the same ids (redelivery).
* A line that is not JSON, and an event that makes a rule raise, are reported in :attr:`problems` (the
  rule by id: it counts as not matching that event) and never stop the feed.

Streams (``name``) are read as ``cnsec detect`` reads one input file: the source is sniffed from a
stream's first event unless given, lines are numbered per stream (evidence says ``name:line``), and a
managed cluster's envelopes are unwrapped. Each item of ``lines`` is one JSON value (an event, or a
batch such as CloudTrail's ``Records``); a pretty-printed document spread over lines must be given as
one item. Correlation merges every stream into one time order with a reorder buffer of ``lateness``
seconds (``cnsec detect --threats`` merges whole files, which a stream without end cannot).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Any

from cnsec.detect.alerts import AlertBook
from cnsec.detect.correlate import DEFAULT_LATENESS, check_lateness
from cnsec.detect.correlate.runner import AlertBook as ThreatBook
from cnsec.detect.engine import Engine, OnEvent, StreamState
from cnsec.detect.rules import LoadFailure, Rule
from cnsec.model.event import Alert
from cnsec.model.finding import InputProblem

#: the snapshot format; a snapshot of another version is refused (:class:`~.snapshot.SnapshotError`).
#: 2: alerts keep their id (:attr:`Alert.ident`), made with the opening event
STATE_VERSION = 2
#: alerts whose window has passed are closed and forgotten every this many hits (``cnsec detect -f
#: jsonl`` writes them out at the same points): memory follows open alerts, not the input
CLOSE_EVERY = 2000
_BOM = b"\xef\xbb\xbf"


def _copy(a: Alert) -> Alert:
    """The alert as it stands (the book keeps changing its own), with its id worked out once (and kept
    on the book's alert for its next updates)."""
    return Alert(a.rule_id, a.title, a.severity, a.threat_id, a.key, a.first_seen, a.last_seen,
                 list(a.evidence), a.count, a.action, a.attack_ids, a.opened, a.id)


def alert_record(alert: Alert) -> dict[str, Any]:
    """An alert update as a JSON-able dict: ``id`` first, then exactly what ``cnsec detect -f jsonl``
    writes for the alert (:func:`~cnsec.detect.alerts.alert_dict`). What a bus or a store keeps."""
    from cnsec.detect.alerts import alert_dict

    return {"id": alert.id, **alert_dict(alert)}


class _ThreatBook(ThreatBook):
    """The correlator's alert book, noting every alert a fire opened or grew."""

    touched: dict[int, Alert]

    def add(self, fire: Any) -> Alert | None:
        opened = super().add(fire)
        alert = self.alerts[(fire.rule.id, fire.key)]
        self.touched[id(alert)] = alert
        return opened


class _Correlation:
    """Threat correlation on the detector's rule hits, as ``cnsec detect --threats`` runs it on one
    input: each hit of a rule a sign names becomes a record (as :class:`~.correlate.inputs.EngineBridge`
    makes it), records are put in time order (:class:`~.correlate.inputs.Reorder`) and fed to the
    correlator."""

    def __init__(self, threats: Sequence[str] | None, rules_paths: Sequence[str], default_rules: bool,
                 lateness: float, max_keys: int) -> None:
        from cnsec.detect.correlate.inputs import Reorder
        from cnsec.detect.correlate.run import build
        from cnsec.detect.correlate.runner import Correlator

        catalog, bridge, self.warnings = build(list(threats) if threats else None,
                                               rules_paths=list(rules_paths) or None,
                                               default_rules=default_rules, max_keys=max_keys)
        self.catalog = catalog
        self.rules: list[Rule] = bridge.engine.rules if bridge is not None else []
        self.ids = frozenset(r.id for r in self.rules)
        self.corr = Correlator(catalog)
        self.book = _ThreatBook(max_evidence=self.corr.book.max_evidence)
        self.book.touched = {}
        self.corr.book = self.book
        self.reorder = Reorder(lateness)
        self.lateness = lateness
        #: the hits of the line being scanned: (line, raw, [(event, source, rule ids)])
        self.line = -1
        #: the lines of the batch being fed and the number of its first: a hit's raw line is its tiebreak
        self.batch: Sequence[bytes] = ()
        self.first = 1
        self.hits: list[tuple[dict[str, Any], str, list[str]]] = []
        self.threat_ids = frozenset(r.id for r in catalog.rules)
        self.getters: dict[str, list[tuple[str, Any]]] = {}

    def end_line(self, name: str, problems: list[InputProblem]) -> None:
        """The hits of the line just scanned become records, as the bridge makes them (its raw text the
        tiebreak; a line's records in time order), and enter the reorder buffer."""
        from cnsec.detect.correlate.runner import Record
        from cnsec.detect.fields import first_text, make_getter
        from cnsec.detect.normalize import SOURCES, event_time, split_key_field

        hits, self.hits = self.hits, []
        if not hits:
            return
        labels = {"ip": "src_ip", "principal": "user"}
        found = [(d, src, rid) for d, src, rids in hits for rid in rids]
        batch: list[tuple[bytes, Record]] = []
        line = self.line
        for i, (d, src, rid) in enumerate(found):
            kind = SOURCES[src]
            ts = event_time(kind, d)
            if ts is None:
                problems.append(InputProblem(name, line, f"rule {rid} matched an event without a time"))
                continue
            specs = self.getters.get(src)
            if specs is None:
                specs = self.getters[src] = [(labels.get(lab, lab), make_getter(path)) for lab, path in
                                             (split_key_field(s) for s in kind.key_fields)]
            rec: Record = {"_ts": ts, "_kind": "event", "rule": rid, "_data": d, "_source": src,
                           "_origin": f"{name}:{line}"}
            for label, get in specs:
                if label not in rec:
                    t = first_text(d, get)
                    if t:
                        rec[label] = t
            raw = self.batch[line - self.first]
            tb = raw if len(found) == 1 else raw + b"\0" + str(i).encode()
            batch.append((tb + b"\0" + rid.encode(), rec))
        if len(batch) > 1:
            batch.sort(key=lambda pair: pair[1]["_ts"])
        out: list[Any] = []
        for tb, rec in batch:
            self.reorder.push(tb, rec, out)
        feed = self.corr.feed
        for item in out:
            feed(item[3])

    def finish(self) -> None:
        for item in self.reorder.drain():
            self.corr.feed(item[3])
        self.corr.finish()

    def take_late(self) -> int:
        """Records that came too late for the reorder buffer since the last call."""
        n, self.reorder.late = self.reorder.late, 0
        return n

    def state(self) -> dict[str, Any]:
        c = self.corr
        r = self.reorder
        return {
            "corr": [c.next_close, c.now, c.records, c.fires, c.restored],
            "window": {s.id: {k: getattr(s, k) for k in _WINDOW_STATE} for s in c.window_signs},
            "event": {s.id: s.fired for s in c.event_signs},
            "rules": {x.id: x.state for x in c.catalog.rules},
            "alerts": self.book.alerts,
            "reorder": r.state(),
        }

    def restore(self, st: dict[str, Any]) -> None:
        c = self.corr
        c.next_close, c.now, c.records, c.fires, c.restored = st["corr"]
        windows = st["window"]
        for s in c.window_signs:
            for k, v in windows[s.id].items():
                setattr(s, k, v)
        for e in c.event_signs:
            e.fired = st["event"][e.id]
        for x in c.catalog.rules:
            x.state = st["rules"][x.id]
        self.book.alerts = st["alerts"]
        self.reorder.restore(st["reorder"])


#: what a window sign learns and holds between records (the rest is its definition)
_WINDOW_STATE = ("start", "end", "learned_until", "accs", "baselines", "overall", "fired", "windows", "fed")


class Detector:
    """The detection engine for a stream of events: see the module's docstring. Make one with
    :meth:`load`."""

    def __init__(self, rules: list[Rule], *, window: float = 300.0, max_evidence: int = 5,
                 prefilter: bool = True, correlation: _Correlation | None = None,
                 load_failures: Sequence[LoadFailure] = (), fingerprint: str = "") -> None:
        self.rules = rules
        self.window = window
        self.max_evidence = max_evidence
        self._correlation = correlation
        extra = [r for r in correlation.rules if r.id not in {x.id for x in rules}] if correlation else []
        self._engine = Engine(rules + extra, prefilter=prefilter)
        self._touched: dict[int, Alert] = {}
        self._book = AlertBook(window=window, max_evidence=max(1, max_evidence), touched=self._touched)
        # each event's hits go to the alert book straight from the scan, unless correlation wants them too
        self._on_event: OnEvent = self._book.add_event if correlation is None else self._both
        self._book.every(CLOSE_EVERY, self._close_expired)
        self._detect_ids = frozenset(r.id for r in rules)
        self._streams: dict[str, StreamState] = {}
        #: rules that did not load (``cnsec detect`` prints them and goes on with the others)
        self.load_failures = list(load_failures)
        #: what the last :meth:`feed` or :meth:`flush` found wrong with its input (see the module's docstring)
        self.problems: list[InputProblem] = []
        self._fingerprint = fingerprint
        self._flushed = False

    # -- loading -----------------------------------------------------------------------------------
    @classmethod
    def load(cls, rules: Sequence[str] = (), default_rules: bool = True, correlate: bool = False, *,
             threats: Sequence[str] | None = None, window: float = 300.0, max_evidence: int = 5,
             min_severity: str = "info", lateness: float = DEFAULT_LATENESS, max_keys: int | None = None,
             prefilter: bool = True) -> Detector:
        """What ``cnsec detect`` loads: the bundled pack (``default_rules``) and the rules under
        ``rules`` (paths); with ``correlate``, also the threat catalog (``threats``: catalog files or
        Sigma correlation rules; default the bundled catalog) as ``cnsec detect --threats`` loads it.
        The keyword options are ``cnsec detect``'s of the same names. Rules that fail to load are in
        :attr:`load_failures`; no rule at all, or none from ``rules`` when given, is a
        :class:`~cnsec.errors.UsageError` (as for ``cnsec detect``)."""
        import orjson

        from cnsec.detect.cli import _load
        from cnsec.detect.correlate.catalog import DEFAULT_MAX_KEYS
        from cnsec.errors import UsageError
        from cnsec.model.severity import Severity

        paths = [str(p) for p in rules]
        loaded = _load(paths, default_rules)
        if not loaded.rules:
            raise UsageError("no rules loaded")
        if paths and not loaded.user_rules:
            raise UsageError(f"no rule loaded from {' '.join(paths)} ({len(loaded.failures)} failed to load)")
        min_sev = Severity.parse(min_severity)
        chosen = [r for r in loaded.rules if r.severity >= min_sev]
        keys = DEFAULT_MAX_KEYS if max_keys is None else max_keys
        if keys < 1:
            raise UsageError("max_keys must be at least 1")
        check_lateness(lateness, "lateness")
        correlation = _Correlation(threats, paths, default_rules, lateness, keys) if correlate else None
        # what the state means: the rules (by what they are, not where their files lie: workers on
        # other machines restore it) and the settings that shape alerts and windows
        config = [sorted(orjson.dumps({**r.to_dict(), "origin": None}).decode() for r in chosen), window,
                  max(1, max_evidence)]
        if correlation is not None:
            config += [sorted(r.id for r in correlation.rules), sorted(correlation.threat_ids),
                       sorted(correlation.catalog.signs), lateness, keys]
        from hashlib import blake2b

        fingerprint = blake2b(orjson.dumps(config), digest_size=16).hexdigest()
        return cls(chosen, window=window, max_evidence=max_evidence, prefilter=prefilter,
                   correlation=correlation, load_failures=loaded.failures, fingerprint=fingerprint)

    # -- feeding -----------------------------------------------------------------------------------
    def feed(self, lines: Iterable[bytes], source: str | None = None, name: str = "<stream>") -> list[Alert]:
        """Scan ``lines`` (one JSON value each) of the stream ``name``; returns the alerts they opened
        or grew, as they stand now. ``source`` (k8s-audit, cloudtrail, gcp-audit, falco, json) is
        sniffed from the stream's first event when not given."""
        if self._flushed:
            from cnsec.errors import UsageError

            raise UsageError("the detector was flushed (end of input): load a new one to read more")
        state = self._streams.get(name)
        if state is None:
            state = self._streams[name] = StreamState(source, source is not None)
        elif source is not None and source != state.source:
            state.source, state.forced, state.checked = source, True, False
            state.tried = state.passed = 0  # the prefilter's record was another source's
            state.adapted = False
        corr = self._correlation
        if corr is not None:  # the raw lines are wanted again (tiebreaks): held for the call
            batch = lines if isinstance(lines, list | tuple) else list(lines)
            if state.line == 0 and batch and batch[0].startswith(_BOM):
                batch = [batch[0][3:], *batch[1:]]
            corr.batch, corr.first, lines = batch, state.line + 1, batch
        numbered = self._numbered(lines, state.line)
        stats = self._engine.stats
        stats.problems = []
        extra: list[InputProblem] = []
        self._extra = extra
        self._engine._run(numbered, name, state, self._on_event)
        if corr is not None:
            corr.end_line(name, extra)
            corr.batch = ()
            late = corr.take_late()
            if late:
                extra.append(InputProblem(name, None, f"{late} records more than {corr.lateness:g} s out of "
                                                      f"time order skipped (not correlated)"))
        self.problems = stats.problems + extra
        return self._updates()

    @staticmethod
    def _numbered(lines: Iterable[bytes], last: int) -> Iterable[tuple[int, bytes]]:
        """``lines`` numbered on from ``last`` (no Python frame per line: the scan's own loop is the
        only one); a stream's first line loses a byte-order mark, as files are read."""
        if last:
            return enumerate(lines, last + 1)
        it = iter(lines)
        for raw in it:
            return itertools.chain(((1, raw[3:] if raw.startswith(_BOM) else raw),), enumerate(it, 2))
        return ()

    def _both(self, hits: list[Rule], d: dict[str, Any], name: str, line: int, source: str) -> None:
        """An event's hits: those of the detection rules to the alert book, those of the rules signs
        name to correlation."""
        corr = self._correlation
        assert corr is not None
        ids = self._detect_ids
        mine = [r for r in hits if r.id in ids]
        if mine:
            self._book.add_event(mine, d, name, line, source)
        wanted = sorted(r.id for r in hits if r.id in corr.ids)  # as the bridge's index orders them
        if wanted:
            if line != corr.line:
                corr.end_line(name, self._extra)
                corr.line = line
            corr.hits.append((d, source, wanted))

    def _close_expired(self) -> None:
        """Every :data:`CLOSE_EVERY` hits: alerts whose window has passed are closed; they were handed
        out when they last changed, so they are dropped."""
        book = self._book
        book.close_expired(book.last_time)
        book.take_closed()

    def _updates(self) -> list[Alert]:
        out = [_copy(a) for a in self._touched.values()]
        self._touched.clear()
        corr = self._correlation
        if corr is not None:
            out += [_copy(a) for a in corr.book.touched.values()]
            corr.book.touched.clear()
            corr.book.closed.clear()  # handed out already
        return out

    def flush(self) -> list[Alert]:
        """End of input: every alert still open is closed and returned as it stands (each was handed
        out already when it last changed), and correlation judges its open windows (the threat alerts
        that makes are returned too). The detector takes no more input after this."""
        self.problems = []
        out = [_copy(a) for a in self._book.open.values()]
        self._book.open.clear()
        self._book.closed.clear()
        self._touched.clear()
        corr = self._correlation
        if corr is not None and not self._flushed:
            corr.finish()
            late = corr.take_late()
            if late:
                self.problems.append(InputProblem("-", None, f"{late} records out of time order skipped"))
            out += [_copy(a) for a in corr.book.alerts.values()]
            corr.book.touched.clear()
            corr.book.alerts.clear()
        self._flushed = True
        return out

    def is_threat(self, alert: Alert) -> bool:
        """Did correlation raise ``alert`` (a threat alert), rather than a detection rule?"""
        corr = self._correlation
        return corr is not None and alert.rule_id in corr.threat_ids and alert.rule_id not in self._detect_ids

    def position(self, name: str = "<stream>") -> int:
        """Lines of stream ``name`` fed so far (the next line's number is one more)."""
        state = self._streams.get(name)
        return 0 if state is None else state.line

    @property
    def fingerprint(self) -> str:
        """What the state means: the rules (by what they are, not where their files lie) and the
        settings that shape alerts and windows. A snapshot restores only into a detector with the same
        fingerprint (:meth:`restore`); a store can compare it first, to say why it starts clean."""
        return self._fingerprint

    @property
    def stats(self) -> dict[str, Any]:
        """Lines, events, lines the prefilter skipped and malformed lines, over every stream so far."""
        return self._engine.stats.to_dict()

    # -- state -------------------------------------------------------------------------------------
    def snapshot(self) -> bytes:
        """Everything :meth:`restore` needs to resume: versioned, canonical bytes (see
        :mod:`cnsec.detect.snapshot`). Holds the open alerts with their evidence (the events, as
        ``cnsec detect``'s output does)."""
        from cnsec.detect.snapshot import pack

        book = self._book
        st = self._engine.stats
        state: dict[str, Any] = {
            "streams": self._streams,
            "book": {"open": book.open, "last_time": book.last_time, "hits": book.hits, "due": book._due},
            "stats": [st.lines, st.events, st.skipped, st.malformed],
            "flushed": self._flushed,
            "correlation": None if self._correlation is None else self._correlation.state(),
        }
        return pack(STATE_VERSION, self._fingerprint, state)

    def restore(self, blob: bytes) -> None:
        """Take up the state :meth:`snapshot` saved, in a detector loaded with the same arguments
        (another version, other rules or settings: :class:`~cnsec.detect.snapshot.SnapshotError`)."""
        from cnsec.detect.snapshot import SnapshotError, unpack

        state = unpack(blob, STATE_VERSION, self._fingerprint)
        try:
            book = self._book
            b = state["book"]
            book.open = b["open"]
            book.closed = []
            book.last_time, book.hits, book._due = b["last_time"], b["hits"], b["due"]
            self._streams = state["streams"]
            st = self._engine.stats
            st.lines, st.events, st.skipped, st.malformed = state["stats"]
            self._flushed = state["flushed"]
            if self._correlation is not None:
                self._correlation.restore(state["correlation"])
        except (KeyError, TypeError, ValueError) as exc:
            raise SnapshotError(f"damaged snapshot: {exc!r}") from None
