"""The detection engine as the bus sees it (``cnsec.serve`` bus, issue 17): events in, alert updates out,
state snapshot/restore; and the publisher's side, files split into events with their correlation key.

It lives in the detect pillar because it reaches into the engine's modules (the bus, a transport in
``cnsec.serve``, may import only this pillar's public face): ``cnsec detect --bus`` hands these objects
to the bus. :class:`EngineProcessor` adapts today's :class:`~cnsec.detect.engine.Engine` and
:class:`~cnsec.detect.alerts.AlertBook`, not the library :class:`~cnsec.detect.detector.Detector`,
which landed since: the bus reads each message as a stream of its own (what a message yields must not
depend on where a worker took the partition up), names alerts by its own deterministic ids and hands
out updates per message, none of which the ``Detector`` does; and the ``Detector``'s threat correlation
does not run on the bus yet. Moving the bus onto it (its snapshot, its per-stream state) is open work:
:func:`processor_factory` is the one place that would change.

Alert ids are deterministic: sha256 of (rule id, key, the time of the hit that opened the alert), the
same in every process and for every way the events were cut into messages.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from cnsec.detect.alerts import AlertBook, _iso, _key_reader, alert_dict
from cnsec.detect.engine import Engine, StreamState
from cnsec.detect.normalize import SOURCES, split_key_field
from cnsec.detect.rules import Rule
from cnsec.model.event import Alert
from cnsec.model.finding import InputProblem
from cnsec.model.severity import Severity

SNAPSHOT_VERSION = 1
#: inputs whose prefilter record a processor keeps (see :meth:`EngineProcessor.feed`)
KEPT_STREAMS = 1024


def alert_id(alert: Alert) -> str:
    """(rule id, key, window start): the window's start is the time of its first evidence, which the
    opening hit wrote and nothing changes later (``first_seen`` may move back with a late event)."""
    start = alert.evidence[0]["time"] if alert.evidence else repr(alert.first_seen)
    return hashlib.sha256("\x1f".join((alert.rule_id, alert.key, start)).encode()).hexdigest()[:32]


@dataclass(slots=True)
class AlertUpdate:
    """One version of an alert: a new alert, or one whose count grew. (Not frozen: a frozen
    dataclass sets each field through ``object.__setattr__``, and a worker makes one per update.)

    ``full``: the update carries the alert's evidence, because the evidence changed since the alert's
    last update (it is new, or its first ``max_evidence`` hits are still coming in). Otherwise the
    evidence is left out (:meth:`to_dict` has no ``evidence``): it is what the last update that had it
    said. A busy alert's evidence is fixed after its first hits, and sending it with every version
    cost more than the rest of the update (docs/scale.md)."""

    id: str
    count: int
    alert: Alert
    full: bool = True
    #: the JSON of the fields that never change (id to key; action, attack ids), made once per alert
    fixed: tuple[bytes, bytes] | None = None

    def to_dict(self) -> dict[str, Any]:
        doc = {"id": self.id, **alert_dict(self.alert)}
        if not self.full:
            del doc["evidence"]
        return doc

    def to_json(self, limit: int | None = None) -> bytes:
        """``orjson.dumps(self.to_dict())``, the same bytes (a test holds it), made from the alert's
        fixed parts: the worker writes one per update, and building the dict was most of it.

        ``limit``: the most bytes the update may take (the bus's largest message). Evidence holds whole
        events, so an alert's first hits can outgrow a message that each of them fit alone; the last
        kept events are then left out, until it fits, and ``"evidence_cut": true`` says so (the
        count and ``evidence_omitted`` stay true). The same update is cut the same way everywhere."""
        evidence = self.alert.evidence
        line = self._json(evidence if self.full else None, False)
        if limit is None or len(line) <= limit or not self.full:
            return line
        kept = list(evidence)
        while kept and len(line) > limit:
            kept.pop()
            line = self._json(kept, True)
        return line

    def _json(self, evidence: list[dict[str, Any]] | None, cut: bool) -> bytes:
        a = self.alert
        fixed = self.fixed
        if fixed is None:
            fixed = self.fixed = fixed_json(self.id, a)
        head, tail = fixed
        dumps = orjson.dumps
        kept = a.evidence if evidence is None else evidence
        return b"".join((
            head, b'"first_seen":', dumps(_iso(a.first_seen)), b',"last_seen":', dumps(_iso(a.last_seen)),
            b',"count":', str(a.count).encode(), tail,
            b"" if evidence is None else b',"evidence":' + dumps(evidence),
            b',"evidence_omitted":', str(max(0, a.count - len(kept))).encode(),
            b',"evidence_cut":true}' if cut else b"}"))


def fixed_json(aid: str, a: Alert) -> tuple[bytes, bytes]:
    """The JSON of an alert update's fields that never change, as :meth:`AlertUpdate.to_json` joins
    them: ``{"id":…,…,"key":…,`` and ``,"action":…,"attack_ids":[…]``."""
    head = orjson.dumps({"id": aid, "rule_id": a.rule_id, "title": a.title, "severity": a.severity.label,
                         "threat_id": a.threat_id, "key": a.key})
    tail = orjson.dumps({"action": a.action, "attack_ids": list(a.attack_ids)})
    return head[:-1] + b",", b"," + tail[1:-1]


class EngineProcessor:
    """One partition's detection state over a shared :class:`Engine` (matching is stateless; the
    alert book is the state). Not thread-safe: one partition is fed by one task."""

    def __init__(self, engine: Engine, window: float, max_evidence: int) -> None:
        self.engine = engine
        self.max_evidence = max_evidence
        #: every alert a hit opened or grew since :meth:`updates` last ran, by identity: the book
        #: notes them as it folds the hit (no second reading of the key per rule here)
        self._touched: dict[int, Alert] = {}
        self.book = AlertBook(window=window, max_evidence=max_evidence, touched=self._touched)
        #: id(alert) -> (the alert, its count at its last update, its id and fixed JSON once made):
        #: whether the next update must carry the evidence, and the id's sha256 once per alert. The
        #: alert is held so that its ``id()`` is not reused while it is here; closed alerts leave.
        self._sent: dict[int, tuple[Alert, int, str | None, tuple[bytes, bytes] | None]] = {}
        #: id(alert) -> (the alert, its count, its JSON in the snapshot): see :meth:`snapshot`
        self._frags: dict[int, tuple[Alert, int, bytes]] = {}
        #: (source, input) -> the prefilter's record there (lines tried, lines passed, switched off):
        #: see :meth:`feed`; at most :data:`KEPT_STREAMS` inputs, then it starts again
        self._prefilter: dict[tuple[str | None, str], tuple[int, int, bool]] = {}
        self.problems: list[InputProblem] = []

    def feed(self, lines: Sequence[tuple[int, bytes]], source: str | None, name: str) -> None:
        """Match ``lines`` ((line number, one JSON event)) of input ``name``; :meth:`updates` then
        says which alerts they opened or grew. Every alert stays in the state, as in a one-process run
        (``-f json``): an event late by any amount still folds into the alert it belongs to.
        (Bounding that by an event-time horizon is the library ``Detector``'s to decide;
        docs/scale.md.)

        Each call reads its lines as a stream of their own (the first event tells raw events from
        envelopes, as in every message: wherever a worker took the partition up, a message is read
        the same way), except for the prefilter's record, kept per input across calls: a one-process
        run switches the prefilter off after the first 4,096 lines (``ADAPT_AFTER``) of an input when
        nearly all of them pass it (a Kubernetes audit log: 98%), and a worker fed in messages of a
        few thousand events never saw that many at once, so it searched every line for nothing (7.5%
        of its CPU on the bench's events). The prefilter lets through every line a rule could match
        (``\\u`` escapes included), so the record never changes an alert; but a line it skips is not
        parsed, so whether a malformed one is reported can depend on it. The record is therefore
        part of the snapshot: a worker replaying from a checkpoint reads each line as the first did."""
        stats = self.engine.stats
        state = StreamState(source, source is not None)
        seen = self._prefilter
        stream = (source, name)
        record = seen.get(stream)
        if record is not None:
            state.tried, state.passed, state.adapted = record
        try:
            self.engine._run(iter(lines), name, state, self.book.add_event)
        finally:
            if record is None and len(seen) >= KEPT_STREAMS:
                seen.clear()
            seen[stream] = (state.tried, state.passed, state.adapted)
            self.problems.extend(stats.problems)
            stats.problems.clear()  # the engine keeps a bounded list: a worker runs for ever

    def updates(self) -> list[AlertUpdate]:
        """The alerts opened or grown since the last call, each once, as they stand now, in the order
        of their first hit: deterministic for the same state and events, so the bus can name the
        message they go in by the events' stream sequence. An alert a later hit closed (its window
        passed) leaves the state here: it was handed out as it last changed, never twice."""
        sent = self._sent
        n = self.max_evidence
        out = []
        for key, a in self._touched.items():
            prev = sent.get(key)
            if prev is None:
                aid, full = alert_id(a), True
                fixed = fixed_json(aid, a)
            else:
                aid = prev[2] or alert_id(a)
                fixed = prev[3] or fixed_json(aid, a)
                full = prev[1] < n  # the evidence (the first n hits) grew since that update
            sent[key] = (a, a.count, aid, fixed)
            out.append(AlertUpdate(aid, a.count, a, full, fixed))
        self._touched.clear()
        closed = self.book.closed
        frags = self._frags
        for a in closed:
            sent.pop(id(a), None)
            frags.pop(id(a), None)
        closed.clear()
        return out

    def flush(self) -> list[AlertUpdate]:
        """End of input: every open alert, final."""
        self.book.close_expired(float("inf"))
        return [AlertUpdate(alert_id(a), a.count, a) for a in self.book.take_closed()]

    def snapshot(self) -> bytes:
        """The open alerts and the book's clock, as versioned JSON (never pickle: a checkpoint is read
        back from the bus, which other parties can write).

        A worker checkpoints every few seconds and a snapshot holds every alert of the partition, most
        unchanged since the last one: each alert's JSON is kept and made again only when its count
        (which every hit raises, and only a hit changes an alert) moved."""
        book = self.book
        frags = self._frags
        dumps = orjson.dumps
        parts = []
        for a in book.open.values():
            have = frags.get(id(a))
            if have is None or have[1] != a.count:
                frag = dumps([a.rule_id, a.title, a.severity.label, a.threat_id, a.key, a.first_seen, a.last_seen,
                              a.evidence, a.count, a.action, list(a.attack_ids)])
                frags[id(a)] = (a, a.count, frag)
            else:
                frag = have[2]
            parts.append(frag)
        head = dumps({"v": SNAPSHOT_VERSION, "last_time": book.last_time, "hits": book.hits,
                      "prefilter": [[*stream, *record] for stream, record in self._prefilter.items()]})
        return b"".join((head[:-1], b',"open":[', b",".join(parts), b"]}"))

    def restore(self, blob: bytes) -> None:
        doc = orjson.loads(blob)
        if not isinstance(doc, dict) or doc.get("v") != SNAPSHOT_VERSION:
            raise ValueError(f"not a version {SNAPSHOT_VERSION} detector snapshot")
        book = self.book
        book.open.clear()
        book.closed.clear()
        self._touched.clear()
        book.last_time = float(doc["last_time"])
        book.hits = int(doc["hits"])
        for rid, title, sev, threat, key, first, last, evidence, count, action, attack in doc["open"]:
            book.open[(rid, key)] = Alert(rid, title, Severity.parse(sev), threat, key, float(first),
                                          float(last), evidence, int(count), action, tuple(attack))
        # every alert of a checkpoint was handed out as it stands: its next update is full only if
        # its evidence can still grow, as in the process that wrote the checkpoint
        self._sent = {id(a): (a, a.count, None, None) for a in book.open.values()}
        self._frags = {}
        # absent from snapshots written before it was kept: the record starts again
        self._prefilter = {(source, str(name)): (int(tried), int(passed), bool(adapted))
                           for source, name, tried, passed, adapted in doc.get("prefilter", ())}


def processor_factory(rules: list[Rule], *, window: float = 300.0, max_evidence: int = 5,
                      prefilter: bool = True) -> Callable[[], EngineProcessor]:
    """A maker of per-partition processors sharing one engine (its rule indexes are built once)."""
    engine = Engine(rules, prefilter=prefilter)
    return lambda: EngineProcessor(engine, window, max_evidence)


# ------------------------------------------------------------------------------ the publisher's side
def _catch_all() -> list[Rule]:
    """One rule per source that every event meets: the engine's own reader (envelopes, CloudTrail
    ``Records``, source sniffing, line numbers, malformed-line reports) hands us each event."""
    return [Rule(id=f"bus:{s}", title="", severity=Severity.INFO, source=s, match=lambda d: True)
            for s in SOURCES]


@dataclass(slots=True)
class Record:
    """One event as the bus carries it: where it came from, its source and correlation key."""

    source: str
    name: str
    line: int
    key: str
    raw: bytes


#: top-level members that make a line a batch or an envelope (``Records``, ``EventList`` ``items``, GCP
#: ``data``): the engine's reader expands such a line; the fast path never takes it
_BATCH_MEMBERS = ("Records", "items", "data")


def fast_key_reader(specs: tuple[str, ...]) -> Callable[[bytes], str | None] | None:
    """A reader of the correlation key straight from an event's line, without building the event: for
    the usual event, whose first key field holds a non-empty string, the key the full path gives
    (``orjson.loads``, then the source's key reader: ``label=value``); None for any other line (the
    caller then takes the full path). None for a source whose first key field is deeper than two
    members (Falco's, GCP's) or named like a batch member.

    msgspec decodes the line into a struct of just that field's member (for ``user.username``: of
    ``user`` only ``username``) and the batch members as raw spans (a batch goes the engine's way),
    skipping the rest of the event: 0.9 us for a Kubernetes audit event where ``orjson.loads`` takes
    2.1, 1.1 us for a CloudTrail event where it takes 3.4 (this machine). Reading every key field so
    (the key reader run on the decoded members when the first is no plain string) was tried: each
    line's read then cost 0.3 us more, which the 10-15% of the bench's events without a first key
    field won back and no more.

    Skipping still checks the whole line's syntax (strings, escapes, numbers, nesting), and a line
    that is not all ASCII is checked to be UTF-8, so the lines it keys are the lines ``orjson.loads``
    reads, with one exception: a number beyond a double's range (``1e999``), which msgspec skips and
    orjson refuses. Such a line is published, and the worker parks it in the dead-letter subject
    with its origin and the reason, where the full path would have reported it here. A repeated
    member name reads as in orjson (the last one counts). tests/detect/test_bus_keys.py holds it to
    the full path over the corpus, and damaged, generated and hand-made lines."""
    import msgspec

    label, path = split_key_field(specs[0]) if specs else ("", "")
    parts = path.split(".")
    if not specs or len(parts) > 2 or parts[0] in _BATCH_MEMBERS or not all(parts):
        return None
    prefix = label + "="
    unset = msgspec.UNSET
    member: Any = Any
    if len(parts) == 2:
        member = msgspec.defstruct("_KeyInner", [("v", Any, unset)], rename={"v": parts[1]}, gc=False) | None
    batch: Any = msgspec.Raw | msgspec.UnsetType
    top = msgspec.defstruct("_KeyTop", [("k", member, unset), ("r", batch, unset), ("i", batch, unset),
                                        ("d", batch, unset)],
                            rename={"k": parts[0], "r": "Records", "i": "items", "d": "data"}, gc=False)
    decode: Callable[[bytes], Any] = msgspec.json.Decoder(top).decode
    # ValidationError (not an object, the member of another type) is a DecodeError; nesting past
    # msgspec's depth (orjson's is deeper) raises RecursionError
    refused = (msgspec.DecodeError, RecursionError)
    two = len(parts) == 2

    def read(raw: bytes) -> str | None:
        try:
            t = decode(raw)
        except refused:
            return None
        v = t.k
        if two and v is not None and v is not unset:
            v = v.v
        if v.__class__ is not str or not v or t.r is not unset or t.i is not unset or t.d is not unset:
            return None
        if not raw.isascii():
            try:
                raw.decode()
            except UnicodeDecodeError:
                return None
        return prefix + v
    return read


def _no_key(raw: bytes) -> None:
    """The fast key reader of a source that has none (see :func:`fast_key_reader`)."""
    return None


class EventReader:
    """Files → events with their correlation keys, read exactly as ``cnsec detect`` reads them."""

    def __init__(self, source: str | None = None) -> None:
        self.engine = Engine(_catch_all(), prefilter=False)
        self.source = source
        #: each source's reader of its correlation key (the partition key)
        self._keys = {s: _key_reader(k.key_fields) for s, k in SOURCES.items()}
        #: and of it from the line, where the source's first key field allows (see fast_key_reader)
        self._fast_keys = {s: fast_key_reader(k.key_fields) for s, k in SOURCES.items()}

    @property
    def problems(self) -> list[InputProblem]:
        return self.engine.stats.problems

    def records(self, lines: Sequence[bytes], source: str, name: str) -> tuple[list[Record], list[InputProblem]]:
        """``lines`` (one JSON value each, numbered from 1) of input ``name`` in ``source`` as
        records, read by the engine's own reader (batches and envelopes expanded) and keyed as
        :meth:`read` keys them; and the problems of the lines it could not take."""
        out: list[Record] = []
        keys = self._keys
        dumps = orjson.dumps

        def on_event(rules: list[Rule], data: dict[str, Any], nm: str, line: int, src: str) -> None:
            out.append(Record(src, nm, line, keys[src](data), dumps(data)))

        stats = self.engine.stats
        stats.problems = []
        self.engine._run(enumerate(lines, 1), name, StreamState(source, True), on_event)
        problems, stats.problems = stats.problems, []
        return out, problems

    @property
    def unreadable(self) -> int:
        return self.engine.stats.unreadable

    def read(self, path: str, sink: Callable[[str, str, list[int], list[str], list[bytes]], object],
             every: int = 2048) -> None:
        """Hand the events of ``path`` to ``sink(source, path, lines, keys, raws)`` in order, about
        ``every`` at a time, as columns (no object per event; each event a line ending with its
        newline, as it was read; the caller's back-pressure is ``sink`` blocking).

        A line holding one plain event (the engine's own fast path: a JSON object that is no batch,
        in a file whose first object is no envelope) is passed on as it was read, its key read from
        it (from the line itself where :func:`fast_key_reader` can); every other line (batches,
        envelopes, malformed lines, whole documents) goes through the engine's reader, which expands
        it and reports what it cannot read."""
        from cnsec.detect.sources import READ_ERRORS, InputTooLarge, iter_lines, open_binary
        from cnsec.detect.sources.managed import is_envelope
        from cnsec.errors import InputError

        dumps = orjson.dumps
        keys = self._keys
        engine = self.engine
        stats = engine.stats
        source = self.source
        # the columns of the run being filled: events of ``source`` (of the last that was read)
        run_source = source or "json"
        lines_out: list[int] = []
        keys_out: list[str] = []
        raws_out: list[bytes] = []

        def emit() -> None:
            nonlocal lines_out, keys_out, raws_out
            if raws_out:
                if raws_out[-1][-1:] != b"\n":  # a file's last line, without its newline: the only one
                    raws_out[-1] += b"\n"
                sink(run_source, path, lines_out, keys_out, raws_out)
                lines_out, keys_out, raws_out = [], [], []

        def on_event(rules: list[Rule], data: dict[str, Any], name: str, line: int, src: str) -> None:
            nonlocal run_source
            if src != run_source:
                emit()
                run_source = src
            lines_out.append(line)
            keys_out.append(keys[src](data))
            raws_out.append(dumps(data) + b"\n")

        try:
            stream = open_binary(path)
        except InputError as exc:
            stats.cannot_open(path, exc.message)
            return
        with stream:
            try:
                lines = iter_lines(stream)
            except InputTooLarge as exc:
                stats.problem(path, 1, f"cannot read: {exc}")
                return
            except READ_ERRORS as exc:
                stats.problem(path, None, f"cannot read: {exc}")
                return
            fast = False
            first = True
            loads = orjson.loads
            key = keys["json"]
            fast_key: Callable[[bytes], str | None] = _no_key
            n = 0
            try:
                for n, raw in lines:
                    if fast:
                        k = fast_key(raw)
                        if k is None:
                            try:
                                obj = loads(raw)
                            except orjson.JSONDecodeError:
                                obj = None
                            if obj.__class__ is dict and "Records" not in obj and "items" not in obj \
                                    and "data" not in obj:
                                k = key(obj)
                        if k is not None:
                            lines_out.append(n)
                            keys_out.append(k)
                            raws_out.append(raw)  # with its newline (see emit)
                            if len(raws_out) >= every:
                                emit()
                            continue
                    given = source if fast else self.source
                    found = engine._run(iter(((n, raw),)), path, StreamState(given, given is not None), on_event)
                    if len(raws_out) >= every:
                        emit()
                    if first and found is not None:
                        first = False
                        source = found
                        key = keys[found]
                        try:
                            head = loads(raw)
                        except orjson.JSONDecodeError:
                            head = None
                        fast = head.__class__ is dict and not (
                            "protoPayload" in head or isinstance(head.get("data"), dict) or is_envelope(head))
                        if fast:
                            fast_key = self._fast_keys[found] or _no_key
                            if run_source != found:
                                emit()
                                run_source = found
            except InputTooLarge as exc:
                stats.problem(path, n + 1, f"cannot read further: {exc}")
            except READ_ERRORS as exc:
                stats.problem(path, None, f"cannot read further: {exc}")
        emit()


_READERS = threading.local()


def event_records(lines: Sequence[bytes], source: str, name: str) -> tuple[list[Record], list[InputProblem]]:
    """One ingest request's events as the bus carries them (``cnsec serve --bus``): read, split and
    keyed exactly as ``cnsec detect --publish`` reads a file of them, so the server's publisher puts
    each in the partition a file's publisher would. One reader per thread (the engine's reading
    state is not shared: requests are read in the server's worker threads)."""
    reader: EventReader | None = getattr(_READERS, "reader", None)
    if reader is None:
        reader = _READERS.reader = EventReader()
    return reader.records(lines, source, name)


# ------------------------------------------------------------------------------ cnsec detect --bus
def run_bus(args: Any) -> int:
    """``cnsec detect --bus URL`` with ``--worker``, ``--publish FILE...`` or ``--replay``."""
    import asyncio

    from cnsec.errors import UsageError
    from cnsec.serve import BusConfig, BusError

    modes = [m for m in ("worker", "publish", "replay") if getattr(args, m)]
    if not args.bus:
        raise UsageError(f"--{modes[0] if modes else 'since'} needs --bus URL")
    if len(modes) != 1:
        raise UsageError("--bus takes one of --worker, --publish FILE..., --replay")
    if args.since and not args.replay:
        raise UsageError("--since goes with --replay")
    if args.threats or args.follow:
        raise UsageError("--threats and --follow do not run on the bus (yet): run them without --bus")
    if args.partitions < 1:
        raise UsageError("--partitions must be at least 1")
    cfg = BusConfig(url=args.bus, partitions=args.partitions)
    try:
        if args.publish:
            return asyncio.run(_publish(args, cfg))
        factory = _factory(args)
        if args.worker:
            import gc

            from cnsec.serve import run_worker

            # the rules and every alert of the worker's partitions stay alive: the worker freezes them
            # out of the cyclic collector's view after each message (cnsec.serve.collector), and the
            # collector runs more rarely over what each message makes
            gc.set_threshold(50_000, 20, 100)
            asyncio.run(run_worker(cfg, factory))
            return 0
        return asyncio.run(_replay(args, cfg, factory))
    except BusError:
        raise
    except OSError as exc:
        raise BusError(f"the bus at {args.bus}: {exc}") from None


def key_mismatches(rules: list[Rule]) -> list[str]:
    """Rules whose alerts are keyed otherwise than their source's correlation key (the partition key):
    said at start, never silent (docs/scale.md)."""
    return sorted(r.id for r in rules if r.key_fields and r.source in SOURCES
                  and tuple(r.key_fields) != SOURCES[r.source].key_fields)


def _factory(args: Any) -> Callable[[], EngineProcessor]:
    import sys

    from cnsec.detect.cli import _load
    from cnsec.errors import UsageError
    from cnsec.report.safe import one_line

    loaded = _load(args.rules, not args.no_default_rules)
    for f in loaded.failures:
        print(f"cnsec: rule not loaded: {one_line(f.path)}: {one_line(f.reason)}", file=sys.stderr)
    if not loaded.rules or (args.rules and not loaded.user_rules):
        raise UsageError("no rules loaded" + (f" from --rules {' '.join(args.rules)}" if args.rules else ""))
    min_sev = Severity.parse(args.min_severity)
    rules = [r for r in loaded.rules if r.severity >= min_sev]
    own = key_mismatches(rules)
    if own:
        print(f"cnsec: bus: {len(own)} rule(s) key their alerts by other fields than their source's correlation "
              f"key, which the bus partitions by: an alert of theirs can split where an event lacks the "
              f"first key field and the two keys differ ({', '.join(own[:3])}{', …' if len(own) > 3 else ''})",
              file=sys.stderr)
    return processor_factory(rules, window=args.window, max_evidence=max(1, args.max_evidence),
                             prefilter=not args.no_prefilter)


async def _publish(args: Any, cfg: Any) -> int:
    import sys

    from cnsec.detect.sources import expand_inputs
    from cnsec.errors import UsageError
    from cnsec.report.safe import one_line
    from cnsec.serve import publish_records

    if not args.inputs or "-" in args.inputs:
        raise UsageError("--publish takes files or directories (not stdin)")
    skipped: list[InputProblem] = []
    inputs = expand_inputs(args.inputs, skipped)
    reader = EventReader(args.source)

    def produce(sink: Callable[[str, str, list[int], list[str], list[bytes]], object]) -> None:
        for path in inputs:
            reader.read(path, sink)

    stats = await publish_records(cfg, produce)
    for p in [*skipped, *reader.problems, *stats.too_large]:
        print(f"cnsec: {one_line(str(p))}", file=sys.stderr)
    eps = stats.events / stats.seconds if stats.seconds else 0.0
    left = f", {len(stats.too_large)} too large for the bus (not published, named above)" if stats.too_large else ""
    print(f"cnsec: published {stats.events} events in {stats.messages} messages ({eps:,.0f} events/s, "
          f"{stats.retries} re-sent{left})", file=sys.stderr)
    return 2 if reader.unreadable else 0


async def _replay(args: Any, cfg: Any, factory: Callable[[], EngineProcessor]) -> int:
    import sys
    from datetime import UTC, datetime

    from cnsec.detect.cli import exit_code, write_alerts
    from cnsec.detect.render import jsonl_line
    from cnsec.errors import UsageError
    from cnsec.report.safe import one_line
    from cnsec.serve import retained

    since = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since.replace("Z", "+00:00"))
        except ValueError:
            raise UsageError(f"--since expects a date (YYYY-MM-DD) or RFC 3339 time, got {args.since!r}") from None
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
    proc = factory()
    final: dict[str, AlertUpdate] = {}

    def consume(groups: list[tuple[str, str, list[tuple[int, bytes]]]]) -> None:
        for source, name, lines in groups:
            proc.feed(lines, source, name)
        for u in proc.updates():
            final[u.id] = u

    def bad(seq: int, why: str) -> None:
        print(f"cnsec: bus message {seq}: {one_line(why)} (skipped)", file=sys.stderr)

    events = await retained(cfg, since, consume, bad)
    for u in proc.flush():
        final[u.id] = u
    alerts = sorted((u.alert for u in final.values()),
                    key=lambda a: (a.first_seen, -int(a.severity), a.rule_id, a.key))
    write_alerts("".join(map(jsonl_line, alerts)), args.output)
    for p in proc.problems:
        print(f"cnsec: {one_line(str(p))}", file=sys.stderr)
    print(f"cnsec: replayed {events} events from the bus: {len(alerts)} alerts", file=sys.stderr)
    return exit_code(alerts, args.fail_on)
