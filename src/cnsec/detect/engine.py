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

import importlib
import re
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


_GENERIC: Any = object()
_NOTHING: frozenset[str] = frozenset()
#: after this many lines, a prefilter that lets nearly all of them through is switched off for the
#: rest of the input (it would cost more than the parses it saves)
ADAPT_AFTER = 4096
ADAPT_PASS_RATE = 0.9


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


class LiteralScanner:
    """Does a raw line contain any of these literals (ASCII, case-insensitive)?

    Hyperscan when installed (``pip install cnsec[hyperscan]``: SIMD multi-literal matching, about a
    microsecond per KiB), RE2 otherwise (its automaton is linear time too, but slower through its
    Python binding). Either runs on the raw bytes; no lower-cased copy of the line is made.
    """

    def __init__(self, literals: list[str]) -> None:
        self.literals = literals
        self.search: Callable[[bytes], Any]
        self.engine = "re2"
        hyperscan: Any
        try:
            hyperscan = importlib.import_module("hyperscan")
        except ImportError:
            hyperscan = None
        if hyperscan is not None:
            self.engine = "hyperscan"
            db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            flags = hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_SINGLEMATCH
            db.compile(expressions=[re.escape(x).encode() for x in literals], ids=list(range(len(literals))),
                       elements=len(literals), flags=[flags] * len(literals))
            scan = db.scan
            hit = [False]

            def found(*_args: Any) -> None:  # SINGLEMATCH: at most once per literal
                hit[0] = True

            def hs_search(raw: bytes) -> Any:
                hit[0] = False
                scan(raw, match_event_handler=found)
                return True if hit[0] else None
            self.search = hs_search
        else:
            import re2

            opts = re2.Options()
            opts.max_mem = 256 << 20
            opts.case_sensitive = False
            self.search = re2.compile("|".join(re2.escape(x) for x in literals).encode(), options=opts).search


class RuleIndex:
    """The rules of one source, indexed by the literal values they require."""

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        costs = _literal_costs(rules)
        path_rules: dict[str, int] = {}
        for r in rules:
            for p in {a[1] for q in r.reqs if q and all(a[0] == "eq" for a in q) for a in q}:
                path_rules[p] = path_rules.get(p, 0) + 1
        # two-level index: each rule is filed under its most selective exact-value requirement
        # (its *primary*); its other exact-value requirements become *guards* checked before the
        # full match, with field values looked up once per event. So "verb=create and
        # resource=pods and privileged=true" costs one hash look-up on most events.
        primary: dict[str, dict[str, list[int]]] = {}
        guards: dict[int, list[list[tuple[str, frozenset[str]]]]] = {}
        sub: list[tuple[int, tuple[bytes, ...]]] = []
        always: list[int] = []
        literals: set[str] = set()
        guard_paths: set[str] = set()
        exact: set[int] = set()
        prefilterable = True
        for i, r in enumerate(rules):
            chosen = _choose(r, costs)
            if chosen is None:
                prefilterable = False
            else:
                for alt in chosen:
                    lit = prefilter_literal(alt)
                    if lit is None:
                        prefilterable = False
                    else:
                        literals.add(lit)
            eq_reqs = list(dict.fromkeys(q for q in r.reqs if q and all(a[0] == "eq" for a in q)))
            sub_reqs = [q for q in r.reqs if q and all(a[0] == "sub" for a in q)]
            if r.exact and len(eq_reqs) == len(r.reqs) and eq_reqs:
                exact.add(i)
            if eq_reqs:
                # the primary: a requirement on a field many rules share (one look-up serves them
                # all), not a verb-like field that every event has, then the rarest literal
                def cost(q: frozenset[tuple[str, str, str]]) -> tuple[int, int, int, int]:
                    paths = {a[1] for a in q}
                    common = max(FIELD_PENALTY.get(p.lower(), 0) >= 200 for p in paths)
                    shared = min(path_rules.get(p, 0) for p in paths)
                    return (common, -shared, max(costs.get(prefilter_literal(a) or "", 1000) for a in q), len(q))
                eq_reqs.sort(key=cost)
                first, rest = eq_reqs[0], eq_reqs[1:]
                for _kind, path, value in sorted(first):
                    ids = primary.setdefault(path, {}).setdefault(value, [])
                    if i not in ids:
                        ids.append(i)
                rule_guards = []
                for q in rest:
                    by_path: dict[str, set[str]] = {}
                    for _kind, path, value in q:
                        by_path.setdefault(path, set()).add(value)
                        guard_paths.add(path)
                    rule_guards.append([(p, frozenset(v)) for p, v in by_path.items()])
                if rule_guards:
                    # shallow fields that many rules share first (verb=create is memoised once per
                    # event and fails fast), deep request-body paths last
                    rule_guards.sort(key=lambda alts: (max(p.count(".") for p, _ in alts),
                                                       -max(path_rules.get(p, 0) for p, _ in alts)))
                    guards[i] = rule_guards
            elif sub_reqs:
                best = min(sub_reqs, key=lambda q: (len(q), -min(len(a[2]) for a in q)))
                sub.append((i, tuple(a[2].encode() for a in sorted(best))))
            else:
                always.append(i)
        # (first key, second key or None, generic getter, table): one- and two-level paths, the
        # common case, are looked up inline without building value lists
        self.primary = [(p.split(".")[0], ([*p.split("."), None])[1] if p.count(".") <= 1 else "",
                         p, make_getter(p), table) for p, table in primary.items()]
        self.guards = guards
        # most guards are one field and a set of values: kept flat, checked without inner loops
        self.simple_guards: dict[int, tuple[tuple[str, frozenset[str]], ...]] = {
            i: tuple(alts[0] for alts in checks) for i, checks in guards.items()
            if all(len(alts) == 1 for alts in checks)}
        self.getters = {p: make_getter(p) for p in guard_paths}
        self.split = {p: (p.split(".")[0], p.split(".")[1] if p.count(".") == 1 else (None if "." not in p else ""))
                      for p in guard_paths}
        self.sub = sub
        self.always = always
        self.exact = frozenset(exact)
        # per rule: what to run on a candidate. Rules filed in the exact-value index have had all
        # those requirements checked, so only their residual is left.
        self.tests: list[Callable[[dict[str, Any]], bool] | None] = []
        indexed = {i for table in primary.values() for ids in table.values() for i in ids}
        for i, r in enumerate(rules):
            if i in indexed and r.residual_known:
                self.tests.append(r.residual)
            elif i in indexed and i in self.exact:
                self.tests.append(None)
            else:
                self.tests.append(r.match)
        # the index hands out entries, not bare ids: (rule, flat guards, other guards), so the hot
        # loop needs no further look-ups per hit
        for _first, _second, _path, _get, table in self.primary:
            for value, ids in table.items():
                table[value] = [(i, self.simple_guards.get(i, ()),  # type: ignore[misc]
                                 None if i in self.simple_guards else guards.get(i)) for i in ids]
        self.prefilter: Any = None
        if prefilterable and literals:
            self.prefilter = LiteralScanner(sorted(literals, key=len, reverse=True))
        self.literal_count = len(literals)

    def _values(self, d: dict[str, Any], path: str, memo: dict[str, Any]) -> Any:
        """The lower-cased values of ``path`` in ``d``: one ``str``, or a ``set`` when several."""
        first, second = self.split[path]
        v = d.get(first)
        if second is not None and v.__class__ is dict:
            v = v.get(second) if second else _GENERIC
        elif second is not None:
            v = _GENERIC
        if v.__class__ is str:
            got: Any = v.lower()
        elif v is None and (second is None or path not in d):
            got = _NOTHING
        else:
            got = set()
            for x in self.getters[path](d):
                t = x if x.__class__ is str else as_text(x)
                if t is not None:
                    got.add(t.lower())
        memo[path] = got
        return got

    def candidates(self, d: dict[str, Any], line: bytes | None) -> list[int]:
        """Rules that can match ``d``; ``line`` is its raw text when known (for substring literals)."""
        hits: list[Any] = []
        for first, second, path, get, table in self.primary:
            v = d.get(first)
            if second is not None and v is not None:
                v = v.get(second) if v.__class__ is dict and second else _GENERIC
            if v.__class__ is str:
                entries = table.get(v.lower())
                if entries:
                    hits.extend(entries)
                continue
            if v is None and (second is None or path not in d):
                continue
            for x in get(d):  # lists, numbers, booleans, flattened or dotted keys
                t = x if x.__class__ is str else as_text(x)
                if t is not None:
                    entries = table.get(t.lower())
                    if entries:
                        hits.extend(entries)
        found = list(self.always)
        if hits:
            memo: dict[str, Any] = {}
            values = self._values
            for i, flat, checks in hits:
                for p, vals in flat:
                    got = memo.get(p)
                    if got is None:
                        got = values(d, p, memo)
                    if got.__class__ is str:
                        if got not in vals:
                            break
                    elif vals.isdisjoint(got):
                        break
                else:
                    if checks is not None:
                        ok = True
                        for alts in checks:  # each guard holds if any of its fields has a value
                            for p, vals in alts:
                                got = memo.get(p)
                                if got is None:
                                    got = values(d, p, memo)
                                if (got in vals) if got.__class__ is str else not vals.isdisjoint(got):
                                    break
                            else:
                                ok = False
                                break
                        if not ok:
                            continue
                    found.append(i)
            if len(hits) > 1:
                found = list(set(found))
        if self.sub:
            lowered = line.lower() if line is not None else None
            for i, lits in self.sub:
                if lowered is None or any(lit in lowered for lit in lits):
                    found.append(i)
        found.sort()
        return found

    def match(self, d: dict[str, Any], line: bytes | None) -> list[Rule]:
        rules = self.rules
        tests = self.tests
        out = []
        for i in self.candidates(d, line):
            test = tests[i]
            if test is None or test(d):
                out.append(rules[i])
        return out


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
            # generic JSON also runs the rules written for logs cnsec has no reader for (Azure, M365…)
            wanted = (source, None) if source == "json" else (source,)
            idx = RuleIndex([r for r in self.rules if r.source in wanted])
            self._indexes[source] = idx
        return idx

    def scan_stream(self, stream: IO[bytes], name: str, source: str | None,
                    on_match: Callable[[Match], None]) -> str | None:
        """Scan one input; returns the source it was read as."""
        return self.scan_chunks(iter_chunks(stream), name, source, on_match)

    def scan_chunks(self, chunks: Iterable[Chunk], name: str, source: str | None,
                    on_match: Callable[[Match], None]) -> str | None:
        """Scan lines of one input; returns the source it was read as.

        The cyclic garbage collector is paused meanwhile: the loop allocates many small acyclic
        objects (parsed events) that reference counting frees, and the collector's passes over
        everything alive (evidence kept in open alerts) cost more than the matching itself.
        """
        import gc

        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return self._scan(chunks, name, source, on_match)
        finally:
            if was_enabled:
                gc.enable()

    def _scan(self, chunks: Iterable[Chunk], name: str, source: str | None,
              on_match: Callable[[Match], None]) -> str | None:
        import orjson

        loads = orjson.loads
        decode_error = orjson.JSONDecodeError
        stats = self.stats
        idx: RuleIndex | None = self.index(source) if source else None
        prefilter = idx.prefilter.search if (idx and idx.prefilter and self.use_prefilter) else None
        tried = passed = 0
        for chunk in chunks:
            raw = chunk.raw
            stats.lines += 1
            if prefilter is not None:
                tried += 1
                if prefilter(raw) is None:
                    s = raw.strip()
                    if not s:
                        stats.lines -= 1
                        continue
                    if s[:1] == b"{" and s[-1:] == b"}":
                        stats.skipped += 1
                        stats.events += 1
                        continue
                else:
                    passed += 1
                    if tried == ADAPT_AFTER and passed > tried * ADAPT_PASS_RATE:
                        prefilter = None  # nearly every line is relevant here: parsing is cheaper
            try:
                obj = loads(raw)
            except decode_error as exc:
                if not raw.strip():
                    stats.lines -= 1
                    continue
                stats.problem(name, chunk.line, f"malformed JSON: {exc}")
                continue
            if obj.__class__ is dict and "Records" not in obj and "items" not in obj and "data" not in obj:
                events: list[dict[str, Any]] = [obj]
            else:
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
                hits = idx.match(d, raw)
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
