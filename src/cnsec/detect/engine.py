"""The detection engine: rules indexed by the literals they need, events streamed through them.

Per source we build a :class:`RuleIndex` once:

* every rule picks one *requirement* (a set of literals, one of which any matching event contains);
* exact-value literals go into a hash index ``field -> value -> rules``; substring literals into a
  short list; rules with no usable literal are tested on every event;
* all literals together form an RE2 prefilter over the lower-cased raw line, so a line that contains
  none of them is never even parsed (the common case: most audit events match no rule).

The prefilter only ever skips lines that cannot match (each literal is a necessary condition, chosen
from characters no JSON encoder rewrites), so results equal a full evaluation; the test-suite checks
that on the real corpora.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from cnsec.detect.fields import as_text, make_getter
from cnsec.detect.normalize import SOURCES, event_key, event_time
from cnsec.detect.rules import Rule
from cnsec.detect.rules.matcher import prefilter_literal
from cnsec.detect.sources import Chunk, ReadStats, expand, iter_chunks, sniff_source

#: Fields with few distinct values: a literal on them selects little, so index on something else.
FIELD_PENALTY = {"verb": 200, "eventsource": 200, "objectref.resource": 100}
LOW_CARDINALITY = frozenset({
    "eventtype", "eventcategory", "objectref.apigroup", "objectref.subresource", "useridentity.type",
    "awsregion", "kind", "apiversion", "stage", "level", "protopayload.servicename", "readonly",
    "errorcode", "responsestatus.code", "priority",
})


def _penalty(alt: tuple[str, str, str], literal: str | None) -> int:
    kind, path, _value = alt
    p = FIELD_PENALTY.get(path.lower(), 150 if path.lower() in LOW_CARDINALITY else 0)
    if literal is not None and not literal.startswith('"'):
        p += 300 if kind == "eq" else 120 + (50 if len(literal) < 6 else 0)  # bare true/false/numbers
    return p


@dataclass
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


def _choose(rule: Rule, cost_of: dict[str, int]) -> frozenset[tuple[str, str, str]] | None:
    """The requirement whose least selective literal is the most selective (see :func:`_literal_costs`)."""
    best: frozenset[tuple[str, str, str]] | None = None
    best_score: tuple[int, int, int, int] | None = None
    for req in rule.reqs:
        if not req:
            continue
        lits = [prefilter_literal(a) for a in req]
        unfiltered = sum(1 for x in lits if x is None)
        cost = max(cost_of.get(lit, 0) if lit is not None else 1000 for lit in lits)
        score = (unfiltered, cost, sum(1 for a in req if a[0] == "sub"), len(req))
        if best_score is None or score < best_score:
            best = req
            best_score = score
    return best


def _literal_costs(rules: list[Rule]) -> dict[str, int]:
    """How unselective each literal is: its worst use by any rule (``"create"`` as a verb makes
    ``"create"`` common wherever it is required) plus how many rules require it."""
    worst: dict[str, int] = {}
    uses: dict[str, int] = {}
    for r in rules:
        for req in r.reqs:
            for a in req:
                lit = prefilter_literal(a)
                if lit is None:
                    continue
                worst[lit] = max(worst.get(lit, 0), _penalty(a, lit))
                uses[lit] = uses.get(lit, 0) + 1
    return {lit: worst[lit] + uses[lit] for lit in worst}


class RuleIndex:
    """The rules of one source, indexed by the literal values they require."""

    def __init__(self, rules: list[Rule]) -> None:
        import re2

        self.rules = rules
        costs = _literal_costs(rules)
        eq: dict[str, dict[str, list[int]]] = {}
        sub: list[tuple[int, tuple[bytes, ...]]] = []
        always: list[int] = []
        literals: set[str] = set()
        prefilterable = True
        for i, r in enumerate(rules):
            chosen = _choose(r, costs)
            if chosen is None:
                always.append(i)
                prefilterable = False
                continue
            sub_lits: list[bytes] = []
            for kind, path, value in sorted(chosen):
                lit = prefilter_literal((kind, path, value))
                if lit is None:
                    prefilterable = False
                else:
                    literals.add(lit)
                if kind == "eq":
                    eq.setdefault(path, {}).setdefault(value, []).append(i)
                else:
                    sub_lits.append(value.encode())
            if sub_lits:
                sub.append((i, tuple(sub_lits)))
        self.eq_paths = [(make_getter(p), table) for p, table in eq.items()]
        self.sub = sub
        self.always = always
        self.prefilter: Any = None
        if prefilterable and literals:
            pattern = "|".join(re2.escape(x) for x in sorted(literals, key=len, reverse=True))
            opts = re2.Options()
            opts.max_mem = 256 << 20
            self.prefilter = re2.compile(pattern.encode(), options=opts)
        self.literal_count = len(literals)

    def candidates(self, d: dict[str, Any], lowered: bytes | None) -> list[int]:
        found: set[int] = set(self.always)
        for get, table in self.eq_paths:
            for v in get(d):
                t = as_text(v)
                if t is not None:
                    hit = table.get(t.lower())
                    if hit:
                        found.update(hit)
        for i, lits in self.sub:
            if lowered is None or any(lit in lowered for lit in lits):
                found.add(i)
        return sorted(found)

    def match(self, d: dict[str, Any], lowered: bytes | None) -> list[Rule]:
        rules = self.rules
        return [rules[i] for i in self.candidates(d, lowered) if rules[i].match(d)]


class Engine:
    """Streams events through the rules; calls ``on_match`` for every (rule, event) hit."""

    def __init__(self, rules: list[Rule], *, prefilter: bool = True) -> None:
        self.rules = rules
        self.use_prefilter = prefilter
        self._indexes: dict[str, RuleIndex] = {}
        self.stats = ReadStats()

    def index(self, source: str) -> RuleIndex:
        idx = self._indexes.get(source)
        if idx is None:
            idx = RuleIndex([r for r in self.rules if r.source == source])
            self._indexes[source] = idx
        return idx

    def scan_stream(self, stream: IO[bytes], name: str, source: str | None,
                    on_match: Callable[[Match], None]) -> str | None:
        """Scan one input; returns the source it was read as."""
        return self.scan_chunks(iter_chunks(stream), name, source, on_match)

    def scan_chunks(self, chunks: Iterable[Chunk], name: str, source: str | None,
                    on_match: Callable[[Match], None]) -> str | None:
        import orjson

        loads = orjson.loads
        decode_error = orjson.JSONDecodeError
        stats = self.stats
        idx: RuleIndex | None = self.index(source) if source else None
        prefilter = idx.prefilter.search if (idx and idx.prefilter and self.use_prefilter) else None
        for chunk in chunks:
            raw = chunk.raw
            stats.lines += 1
            lowered = raw.lower()
            if prefilter is not None and prefilter(lowered) is None:
                s = raw.strip()
                if not s:
                    stats.lines -= 1
                    continue
                if s[:1] == b"{" and s[-1:] == b"}":
                    stats.skipped += 1
                    stats.events += 1
                    continue
            try:
                obj = loads(raw)
            except decode_error as exc:
                if not raw.strip():
                    stats.lines -= 1
                    continue
                stats.problem(name, chunk.line, f"malformed JSON: {exc}")
                continue
            events = expand(obj)
            if not events:
                if not isinstance(obj, dict | list):
                    stats.problem(name, chunk.line, "not a JSON object")
                continue
            if idx is None:
                source = sniff_source(obj if isinstance(obj, dict) and "Records" in obj else events[0])
                idx = self.index(source)
                prefilter = idx.prefilter.search if (idx.prefilter and self.use_prefilter) else None
            stats.events += len(events)
            assert source is not None
            for d in events:
                hits = idx.match(d, lowered)
                if hits:
                    origin = f"{name}:{chunk.line}"
                    for rule in hits:
                        on_match(Match(rule, d, origin, source))
        return source

    def scan_events(self, events: Iterable[dict[str, Any]], source: str) -> Iterator[Rule]:
        """Test already-parsed events (rule examples, tests): yields every matching rule."""
        idx = self.index(source)
        for d in events:
            yield from idx.match(d, None)
