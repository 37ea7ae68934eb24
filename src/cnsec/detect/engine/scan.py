"""The scan loop: events read from inputs, prefiltered, parsed and streamed through each source's
:class:`~cnsec.detect.engine.index.RuleIndex`; hits reported per event or per (rule, event)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from cnsec.detect.engine.index import RuleIndex
from cnsec.detect.normalize import SOURCES, event_key, event_time
from cnsec.detect.rules import Rule
from cnsec.detect.rules.matcher import FALLBACK_TIMEOUT, take_timeouts
from cnsec.detect.sources import (
    READ_ERRORS,
    Chunk,
    InputTooLarge,
    ReadStats,
    expand,
    holds_object,
    iter_lines,
    line_too_long,
    sniff_source,
)
from cnsec.detect.sources.managed import concatenated_batches, is_envelope

#: reported for an event that could not be matched or recorded because something recursed past Python's
#: limit on its nesting (field reads do not recurse; a Python rule may); the scan goes on
DEEP_EVENT = "event nested too deeply to match (skipped)"
#: reported for an event that made a rule raise (a Python rule meeting an event it was not written for):
#: that rule counts as not matching it, the others still do, and the scan goes on. The exception's text is
#: not shown: it may quote the event, and events may hold secrets
RULE_RAISED = "rule {rule} raised {error} on this event (counted as not matching)"
#: after this many lines, a prefilter that lets nearly all of them through is switched off for the
#: rest of the input (it would cost more than the parses it saves)
ADAPT_AFTER = 4096
ADAPT_PASS_RATE = 0.9



@dataclass(slots=True)
class StreamState:
    """Where the scan of one input stands between calls: what it was read as, whether it is a managed
    cluster's envelopes, the prefilter's pass rate and the last line number. ``cnsec detect`` scans an
    input in one call; :class:`cnsec.detect.detector.Detector` feeds one in batches and keeps this per
    stream (and in its snapshots), so a stream fed in pieces is read as it is read whole."""

    source: str | None = None
    #: the source was given, not sniffed: enveloped events are not sniffed one by one
    forced: bool = False
    checked: bool = False
    enveloped: bool = False
    tried: int = 0
    passed: int = 0
    #: the prefilter was switched off (it let nearly every line through)
    adapted: bool = False
    line: int = 0


@dataclass(slots=True)
class Match:
    rule: Rule
    data: dict[str, Any]
    origin: str
    source: str

    def time(self) -> float | None:
        return event_time(SOURCES[self.source], self.data)

    def key(self) -> str:
        kind = SOURCES[self.source]
        return event_key(self.rule.key_fields or kind.key_fields, self.data)





#: called once per event that matched: (the rules it matched, in index order; the event; the input's
#: name; the line; the source)
OnEvent = Callable[[list[Rule], dict[str, Any], str, int, str], object]


def _per_match(on_match: Callable[[Match], None]) -> OnEvent:
    """Adapt a per-hit callback (:class:`Match`) to the per-event one the scan calls."""
    def on_event(rules: list[Rule], d: dict[str, Any], name: str, line: int, source: str) -> None:
        origin = f"{name}:{line}"
        for rule in rules:
            on_match(Match(rule, d, origin, source))
    return on_event


def _counted(lines: Iterable[tuple[int, bytes]], report: Callable[[int], None],
             every: int = 4096) -> Iterator[tuple[int, bytes]]:
    """``lines``, telling ``report`` how many went by every ``every`` lines and at the end."""
    n = 0
    for item in lines:
        yield item
        n += 1
        if n == every:
            report(n)
            n = 0
    if n:
        report(n)


class Engine:
    """Streams events through the rules; calls ``on_match`` for every (rule, event) hit."""

    def __init__(self, rules: list[Rule], *, prefilter: bool = True) -> None:
        self.rules = rules
        self.use_prefilter = prefilter
        #: Told how many lines (about one event each) were read, every few thousand, when a
        #: progress line is shown (``None``: the scan loop is not wrapped at all).
        self.on_lines: Callable[[int], None] | None = None
        self._indexes: dict[str, RuleIndex] = {}
        self.stats = ReadStats()

    def index(self, source: str) -> RuleIndex:
        idx = self._indexes.get(source)
        if idx is None:
            # generic JSON also runs the rules written for logs cnsec has no reader for (Azure, M365…)
            wanted = (source, None) if source == "json" else (source,)
            idx = RuleIndex([r for r in self.rules if r.source in wanted])
            self._indexes[source] = idx
        return idx

    def scan_stream(self, stream: IO[bytes], name: str, source: str | None,
                    on_match: Callable[[Match], None]) -> str | None:
        """Scan one input; returns the source it was read as."""
        return self.scan_stream_events(stream, name, source, _per_match(on_match))

    def scan_stream_events(self, stream: IO[bytes], name: str, source: str | None,
                           on_event: OnEvent) -> str | None:
        """Like :meth:`scan_stream`, one call per event that matched (no :class:`Match` per hit)."""
        try:
            lines = iter_lines(stream)  # reads the first line now
        except InputTooLarge as exc:
            self.stats.problem(name, 1, f"cannot read: {exc}")
            return source
        except READ_ERRORS as exc:
            self.stats.problem(name, None, f"cannot read: {exc}")
            return source
        return self._run(lines, name, StreamState(source, source is not None), on_event)

    def scan_file(self, path: str, source: str | None, on_event: OnEvent) -> str | None:
        """:meth:`scan_stream_events` on the file at ``path`` (``-``: stdin); an input that cannot be
        opened is reported (:attr:`ReadStats.unreadable`) and the run goes on with the next."""
        from cnsec.detect.sources import open_binary
        from cnsec.errors import InputError

        try:
            stream = open_binary(path)
        except InputError as exc:
            self.stats.cannot_open(path, exc.message)
            return None
        with stream:
            return self.scan_stream_events(stream, path, source, on_event)

    def scan_chunks(self, chunks: Iterable[Chunk], name: str, source: str | None,
                    on_match: Callable[[Match], None]) -> str | None:
        """Scan lines of one input; returns the source it was read as."""
        return self._run(((c.line, c.raw) for c in chunks), name, StreamState(source, source is not None),
                         _per_match(on_match))

    def _run(self, lines: Iterable[tuple[int, bytes]], name: str, state: StreamState,
             on_event: OnEvent) -> str | None:
        """The scan, with the cyclic garbage collector paused meanwhile: the loop allocates many
        small acyclic objects (parsed events) that reference counting frees, and the collector's
        passes over everything alive (evidence kept in open alerts) cost more than the matching.
        """
        import gc

        was_enabled = gc.isenabled()
        gc.disable()
        if self.on_lines is not None:
            lines = _counted(lines, self.on_lines)
        try:
            return self._scan(lines, name, state, on_event)
        finally:
            if was_enabled:
                gc.enable()

    def _isolate(self, exc: Exception, d: dict[str, Any], name: str, line: int, source: str,
                 on_event: OnEvent) -> None:
        """An event made matching (or recording its hits) raise: each rule of its source is tried on
        it alone, those that raise are reported by id and count as not matching, and the event's other
        hits are recorded as usual. (The try around the scan's match costs nothing until it raises.)"""
        idx = self.index(source)
        hits: list[Rule] = []
        culprits: list[str] = []
        for rule in idx.rules:
            try:
                if rule.match(d):
                    hits.append(rule)
            except RecursionError:
                culprits.append(f"{rule.id}: {DEEP_EVENT}")
            except Exception as err:  # a rule's own code: whatever it raises is its defect, not the run's
                culprits.append(RULE_RAISED.format(rule=rule.id, error=type(err).__name__))
        for text in culprits:
            self.stats.note(name, line, text)
        if not culprits:  # no rule raises alone: recording the hits did
            self.stats.note(name, line, f"event not recorded: {type(exc).__name__} while recording its hits")
            return
        if hits:
            on_event(hits, d, name, line, source)

    def _scan(self, lines: Iterable[tuple[int, bytes]], name: str, state: StreamState,
              on_event: OnEvent) -> str | None:
        import orjson

        loads = orjson.loads
        decode_error = orjson.JSONDecodeError
        stats = self.stats
        source = state.source
        idx: RuleIndex | None = self.index(source) if source else None
        match = idx.match if idx is not None else None
        # the first object is always parsed and looked at whole: it tells raw events from a managed
        # cluster's envelopes (sources.managed). Raw inputs then take the fast path and the prefilter;
        # enveloped ones are unwrapped line by line, unfiltered (an event inside a JSON string has its
        # quotes escaped, so the raw-line literals do not apply), each event read as its own source
        # unless the source was given (a GKE export mixes Kubernetes with other Google services).
        fast: Callable[[dict[str, Any], bytes | None], list[Rule]] | None = None
        prefilter: Callable[[bytes], Any] | None = None
        checked = state.checked
        enveloped = state.enveloped
        forced = state.forced
        tried = state.tried
        passed = state.passed
        adapted = state.adapted
        if checked and not enveloped and idx is not None:  # a stream taken up again (Detector.feed)
            fast = match
            if idx.prefilter and self.use_prefilter and not adapted:
                prefilter = idx.prefilter.search
        n_lines = n_events = n_skipped = 0  # kept in locals, added to ``stats`` at the end
        line_no = state.line
        try:
            for line_no, raw in lines:
                n_lines += 1
                if prefilter is not None:
                    tried += 1
                    if prefilter(raw) is None:
                        s = raw.strip()
                        if not s:
                            n_lines -= 1
                            continue
                        if s[:1] == b"{" and s[-1:] == b"}":
                            n_skipped += 1
                            n_events += 1
                            continue
                    else:
                        passed += 1
                        if tried == ADAPT_AFTER and passed > tried * ADAPT_PASS_RATE:
                            prefilter = None  # nearly every line is relevant here: parsing is cheaper
                            adapted = True
                try:
                    obj = loads(raw)
                except decode_error as exc:
                    if not raw.strip():
                        n_lines -= 1
                        continue
                    obj = concatenated_batches(raw)
                    if obj is None:
                        stats.problem(name, line_no, line_too_long(raw) or f"malformed JSON: {exc}")
                        continue
                if obj.__class__ is dict and "Records" not in obj and "items" not in obj and "data" not in obj:
                    if fast is not None:  # the common case: one event per line, source known
                        n_events += 1
                        try:
                            hits = fast(obj, raw)
                            if hits:
                                on_event(hits, obj, name, line_no, source)  # type: ignore[arg-type]
                        except RecursionError:  # a hostile nesting some rule (a Python one) recursed into
                            stats.problem(name, line_no, DEEP_EVENT)
                        except Exception as exc:  # a rule that raised: see _isolate
                            self._isolate(exc, obj, name, line_no, source, on_event)  # type: ignore[arg-type]
                        continue
                    events: list[dict[str, Any]] = expand(obj) if not checked or enveloped else [obj]
                else:
                    events = expand(obj)
                    if not events:
                        if not isinstance(obj, dict | list):
                            stats.problem(name, line_no, "not a JSON object")
                        elif isinstance(obj, list) and obj and not holds_object(obj):
                            stats.problem(name, line_no, "an array without a JSON object in it")
                        continue
                if idx is None:
                    source = sniff_source(obj if isinstance(obj, dict) and "Records" in obj else events[0])
                    idx = self.index(source)
                    match = idx.match
                if not checked:
                    checked = True
                    head = obj[0] if isinstance(obj, list) and obj else obj
                    enveloped = isinstance(head, dict) and (
                        "protoPayload" in head or isinstance(head.get("data"), dict)
                        or (is_envelope(head) and (len(events) != 1 or events[0] is not head)))
                    if not enveloped:
                        fast = match
                        # not when the stream's record switched it off already (a stream fed in pieces)
                        prefilter = (idx.prefilter.search if (idx.prefilter and self.use_prefilter and not adapted)
                                     else None)
                n_events += len(events)
                assert match is not None and source is not None
                for d in events:
                    try:
                        if enveloped:
                            src = source if forced else sniff_source(d)
                            hits = (match if src == source else self.index(src).match)(d, None)
                        else:
                            src = source
                            hits = match(d, raw)
                        if hits:
                            on_event(hits, d, name, line_no, src)
                    except RecursionError:
                        stats.problem(name, line_no, DEEP_EVENT)
                    except Exception as exc:  # a rule that raised: see _isolate
                        self._isolate(exc, d, name, line_no, src, on_event)
        except InputTooLarge as exc:  # a decompression bomb: where it was stopped, and what was read before
            stats.problem(name, line_no + 1, f"cannot read further: {exc}")
        except READ_ERRORS as exc:  # a truncated or corrupt gzip, a failing disk: keep what was read
            stats.problem(name, None, f"cannot read further: {exc}")
        finally:
            state.source = source
            state.checked = checked
            state.enveloped = enveloped
            state.tried = tried
            state.passed = passed
            state.adapted = adapted
            state.line = line_no
            stats.lines += n_lines
            stats.events += n_events
            stats.skipped += n_skipped
            for pattern, n in take_timeouts().items():
                stats.note(name, None, f"regex {pattern!r} ran out of its {FALLBACK_TIMEOUT * 1000:g} ms "
                                       f"budget on {n} value(s): counted as not matching")
        return source

    def scan_events(self, events: Iterable[dict[str, Any]], source: str) -> Iterator[Rule]:
        """Test already-parsed events (rule examples, tests): yields every matching rule."""
        idx = self.index(source)
        for d in events:
            yield from idx.match(d, None)
