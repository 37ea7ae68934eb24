"""The detection engine: rules indexed by the literals they need, events streamed through them.

Per source we build a :class:`RuleIndex` once:

* the rules' exact-value requirements (``verb=create``) form a decision tree compiled to closures:
  an event reads a field once per node and follows only the branch its value names, reaching only
  the rules whose requirements it meets (then their residual tests run);
* rules with only substring requirements are found by their literal in the raw line; rules with no
  usable literal are tested on every event;
* one literal per rule requirement, all together, form a prefilter (Hyperscan, else RE2) over the
  raw line, so a line that contains none of them is never even parsed.

The prefilter only ever skips lines that cannot match (each literal is a necessary condition, chosen
from characters no JSON encoder rewrites), so results equal a full evaluation; the test-suite checks
that on the real corpora.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import IO, Any

from cnsec.detect.fields import as_text, flat_items, make_getter
from cnsec.detect.normalize import SOURCES, event_key, event_time
from cnsec.detect.rules import Rule
from cnsec.detect.rules.matcher import FALLBACK_TIMEOUT, prefilter_literal, take_timeouts
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
#: longest alternation of literals given to Hyperscan as one expression (its limit is about 16,000)
HS_EXPRESSION_MAX = 8000
#: a rule whose match costs at most this (matcher.Node.cost) is run without first looking for its
#: substring literal in the raw line: the search over the line would cost as much
CHEAP_MATCH = 6
ADAPT_PASS_RATE = 0.9
#: requirement kinds the decision tree checks by value: an exact value, or any value at all
_VALUE_KINDS = ("eq", "any")
#: reported for an event that could not be matched or recorded because something recursed past Python's
#: limit on its nesting (field reads do not recurse; a Python rule may); the scan goes on
DEEP_EVENT = "event nested too deeply to match (skipped)"


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
            # few expressions (alternations of the literals, each within Hyperscan's pattern length
            # limit), each reported at most once: a line costs a callback per expression at most,
            # however many literals it holds
            expressions: list[bytes] = []
            group: list[bytes] = []
            size = 0
            for lit in literals:
                escaped = re.escape(lit).encode()
                if group and size + len(escaped) + 1 > HS_EXPRESSION_MAX:
                    expressions.append(b"|".join(group))
                    group, size = [], 0
                group.append(escaped)
                size += len(escaped) + 1
            expressions.append(b"|".join(group))
            flags = hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_SINGLEMATCH
            db.compile(expressions=expressions, ids=list(range(len(expressions))), elements=len(expressions),
                       flags=[flags] * len(expressions))
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


class _AnyText(frozenset[str]):
    """What a ``field: '*'`` requirement accepts: any text at all. It stands where a guard's set of
    accepted values stands, and answers the two tests guards make (``value in accepted`` for one
    text, ``accepted.isdisjoint(values)`` for several) as "is there a value"."""

    def __contains__(self, value: object) -> bool:
        return True

    def isdisjoint(self, other: Iterable[Any]) -> bool:
        return not other


#: the accepted values of a ``("any", path, "")`` requirement (see :class:`_AnyText`); never split on
ANY_TEXT = _AnyText()

#: a field's lower-cased value(s) in one event: one ``str`` (the common case) or a ``set`` of them
Values = Any
Guard = tuple[tuple[str, frozenset[str]], ...]  # alternatives: (path, accepted values)


def value_fetcher(path: str) -> Callable[[dict[str, Any]], Values]:
    """``d -> `` the lower-cased text values of ``path`` (see :data:`Values`), as rules compare them.

    Plain nested dicts holding a string or an integer are read inline; everything else (lists on the
    way, booleans, floats, flattened or dotted keys, absent fields) goes through the generic getter.
    """
    get = make_getter(path)

    def generic(d: dict[str, Any]) -> Values:
        got = set()
        for x in get(d):
            t = x if x.__class__ is str else as_text(x)
            if t is not None:
                got.add(t.lower())
        return got

    parts = path.split(".")
    if len(parts) == 1:
        def one(d: dict[str, Any]) -> Values:
            v = d.get(path)
            if v.__class__ is str:
                return v.lower()
            if v.__class__ is int:
                return str(v)
            if v is True:  # as as_text writes them (``hostNetwork: true``)
                return "true"
            if v is False:
                return "false"
            return _NOTHING if v is None else generic(d)
        return one
    if len(parts) == 2:
        first, second = parts

        def two(d: dict[str, Any]) -> Values:
            a = d.get(first)
            if a.__class__ is dict:
                v = a.get(second)
                if v.__class__ is str:
                    return v.lower()
                if v.__class__ is int:
                    return str(v)
                if v is True:
                    return "true"
                if v is False:
                    return "false"
                if v is None and second not in a:
                    return _NOTHING
            elif a is None and path not in d:  # no parent object, no flattened key for the path
                return _NOTHING
            return generic(d)
        return two

    n = len(parts)
    # per level, the keys with dots inside (``annotations.authorization.k8s.io/decision``) that may
    # stand in for the rest of the path: only when one is there does the generic getter take over
    dotted = tuple(tuple(".".join(parts[i:j]) for j in range(n, i + 1, -1)) for i in range(n))

    last = n - 1

    def collect(values: Iterable[Any], k: int, got: set[str]) -> None:
        """The texts at ``parts[k:]`` under ``values`` into ``got``: ``walk`` key by key and then
        ``as_text``, without the list each step of ``walk`` builds (lists fan out the same way)."""
        key = parts[k]
        for value in values:
            if isinstance(value, dict):
                if key in value:
                    x = value[key]
                    if k == last:
                        for t in (x if isinstance(x, list) else (x,)):
                            if t.__class__ is not str:
                                t = as_text(t)
                                if t is None:
                                    continue
                            got.add(t.lower())
                    elif isinstance(x, list):
                        collect(x, k + 1, got)
                    elif isinstance(x, dict):
                        collect((x,), k + 1, got)
            elif isinstance(value, list):
                collect(flat_items(value), k, got)  # lists in lists: flattened without recursion

    def deep(d: dict[str, Any]) -> Values:
        cur: Any = d
        i = 0
        for k in parts:
            if cur.__class__ is not dict:
                break
            parent = cur
            cur = cur.get(k, _GENERIC)
            if cur is _GENERIC:
                for key in dotted[i]:
                    if key in parent:
                        return generic(d)
                return _NOTHING
            i += 1
        else:
            if cur.__class__ is str:
                return cur.lower()
            if cur is True:
                return "true"
            if cur is False:
                return "false"
            return generic(d)
        # a list on the way: fan out over its elements for the remaining keys
        got: set[str] = set()
        collect(cur if isinstance(cur, list) else (cur,), i, got)
        return got
    return deep


class _Node:
    """One step of the decision tree over exact-value requirements (see :class:`RuleIndex`).

    ``done``: rules whose exact-value requirements all hold once this node is reached; ``guarded``:
    rules with requirements left that no split serves (each checked on its own); ``path``: the field
    this node splits on, ``branches`` the subtree per lower-cased value, ``rest`` the subtree of the
    rules that do not constrain that field.
    """

    __slots__ = ("branches", "done", "fetch", "first", "guarded", "path", "rest", "second", "shallow")

    def __init__(self) -> None:
        self.done: list[int] = []
        # a path of one or two keys is read inline when it holds a plain string
        self.shallow = False
        self.first = ""
        self.second: str | None = None
        self.guarded: list[tuple[int, tuple[Guard, ...]]] = []
        self.path: str | None = None
        self.fetch: Callable[[dict[str, Any]], Values] | None = None
        self.branches: dict[str, _Node] = {}
        self.rest: _Node | None = None


def _build(entries: list[tuple[int, list[Guard]]], fetchers: dict[str, Callable[[dict[str, Any]], Values]]) -> _Node:
    """Split ``entries`` (rule, exact-value requirements left) on the field most of them constrain.

    Each event then follows one branch per level (one value look-up serves every rule below it), so a
    rule is only reached when the event has the values its requirements name. The rules that do not
    constrain that field are split the same way in the node's ``rest``, and so on: that chain is
    built (and later run) in a loop, as long as the number of distinct fields the rules use."""
    head, rest = _build_step(entries, fetchers)
    node = head
    while rest:
        node.rest, rest = _build_step(rest, fetchers)
        node = node.rest
    return head


def _build_step(entries: list[tuple[int, list[Guard]]], fetchers: dict[str, Callable[[dict[str, Any]], Values]],
                ) -> tuple[_Node, list[tuple[int, list[Guard]]]]:
    """One node of :func:`_build` (its branches built), and the entries left for its ``rest``."""
    node = _Node()
    pending: list[tuple[int, list[Guard]]] = []
    for i, reqs in entries:
        if reqs:
            pending.append((i, reqs))
        else:
            node.done.append(i)
    counts: dict[str, int] = {}
    for _i, reqs in pending:
        for p in {g[0][0] for g in reqs if len(g) == 1 and g[0][1] is not ANY_TEXT}:
            counts[p] = counts.get(p, 0) + 1
    # a field only one rule constrains is still a split when it is shallow (a split costs one plain
    # read and look-up); a deep one stays a guard, read only once the rule's other guards hold
    splittable = {p: c for p, c in counts.items() if c >= 2 or p.count(".") <= 1}
    if not splittable:
        node.guarded = [(i, tuple(reqs)) for i, reqs in pending]
        return node, []
    # the field most rules constrain; shallow fields first on a tie (cheaper to read)
    path = min(splittable, key=lambda p: (-splittable[p], p.count("."), p))
    split: dict[str, list[tuple[int, list[Guard]]]] = {}
    rest: list[tuple[int, list[Guard]]] = []
    for i, reqs in pending:
        at = next((k for k, g in enumerate(reqs) if len(g) == 1 and g[0][0] == path and g[0][1] is not ANY_TEXT),
                  None)
        if at is None:
            rest.append((i, reqs))
            continue
        left = reqs[:at] + reqs[at + 1:]
        for value in sorted(reqs[at][0][1]):
            split.setdefault(value, []).append((i, left))
    node.path = path
    node.fetch = fetchers.setdefault(path, value_fetcher(path))
    keys = path.split(".")
    if len(keys) <= 2:
        node.shallow = True
        node.first = keys[0]
        node.second = keys[1] if len(keys) == 2 else None
    # a branch holds one requirement fewer per rule: this recursion is as deep as a rule's
    # requirements are many
    node.branches = {value: _build(group, fetchers) for value, group in split.items()}
    return node, rest


Visit = Callable[[dict[str, Any], list[int]], None]
#: appended by a visit that followed several branches (a multi-valued field): the result needs dedup
_MULTI = -1


def _noop(d: dict[str, Any], found: list[int]) -> None:
    return None  # a node with nothing to report (never on the hot path: see _compile)


Test = Callable[[dict[str, Any]], bool]


def _compile_guards(guarded: list[tuple[int, tuple[Guard, ...]]],
                    fetchers: dict[str, Callable[[dict[str, Any]], Values]],
                    tests: list[Test | None] | None) -> Visit:
    """The rules of a leaf whose requirements no split served: each field is read once, when first
    needed; a rule whose guards all hold is reported if its test (when ``tests``) passes."""
    paths = sorted({p for _i, guards in guarded for alts in guards for p, _v in alts})
    reads = tuple(fetchers.setdefault(p, value_fetcher(p)) for p in paths)
    pos = {p: k for k, p in enumerate(paths)}
    # per rule, shallow fields first: cheap to read, and a guard that fails spares the deep reads
    plan = tuple((i, tests[i] if tests is not None else None,
                  tuple(tuple((pos[p], vals) for p, vals in alts)
                        for alts in sorted(guards, key=lambda a: max(p.count(".") for p, _v in a))))
                 for i, guards in guarded)
    if len(plan) == 1 and len(plan[0][2]) == 1 and len(plan[0][2][0]) == 1:
        (only, test, (((_k, accepted),),)), = plan
        read = reads[0]
        if test is None:
            def one_guard(d: dict[str, Any], found: list[int]) -> None:
                got = read(d)
                if (got in accepted) if got.__class__ is str else not accepted.isdisjoint(got):
                    found.append(only)
            return one_guard

        def one_guard_tested(d: dict[str, Any], found: list[int]) -> None:
            got = read(d)
            if ((got in accepted) if got.__class__ is str else not accepted.isdisjoint(got)) and test(d):
                found.append(only)
        return one_guard_tested

    # fields under one common object (``requestObject.spec.hostNetwork``, ``….hostPID``…) are read
    # from that object, found once per event: the same values, as long as every step to it is a
    # plain dict (otherwise, a list or a flattened key on the way, the whole paths are read)
    split = [p.split(".") for p in paths]
    common: list[str] = []
    if len(paths) >= 2:
        for keys in zip(*split, strict=False):
            if len(set(keys)) != 1:
                break
            common.append(keys[0])
        common = common[:min(len(parts) for parts in split) - 1]
    prefix = tuple(common)
    inner = tuple(fetchers.setdefault(".".join(parts[len(prefix):]), value_fetcher(".".join(parts[len(prefix):])))
                  for parts in split) if prefix else reads
    n_reads = len(reads)
    if all(len(guards) == 1 for _i, _t, guards in plan):
        # the usual leaf: one guard per rule (any of its fields with an accepted value)
        single = tuple((i, test, guards[0]) for i, test, guards in plan)

        def single_guards(d: dict[str, Any], found: list[int]) -> None:
            base: Any = d
            for key in prefix:
                base = base.get(key) if base.__class__ is dict else None
            if base.__class__ is dict:
                src, rd = base, inner
            else:
                src, rd = d, reads
            got: list[Values] = [None] * n_reads
            for i, test, alts in single:
                for k, accepted in alts:
                    g = got[k]
                    if g is None:
                        g = got[k] = rd[k](src)
                    if (g in accepted) if g.__class__ is str else not accepted.isdisjoint(g):
                        if test is None or test(d):
                            found.append(i)
                        break
        return single_guards

    def guards_of(d: dict[str, Any], found: list[int]) -> None:
        base: Any = d
        for key in prefix:
            base = base.get(key) if base.__class__ is dict else None
        if base.__class__ is dict:
            src, rd = base, inner
        else:
            src, rd = d, reads
        got: list[Values] = [None] * n_reads
        for i, test, guards in plan:
            for alts in guards:  # each guard holds if any of its fields has an accepted value
                for k, accepted in alts:
                    g = got[k]
                    if g is None:
                        g = got[k] = rd[k](src)
                    if (g in accepted) if g.__class__ is str else not accepted.isdisjoint(g):
                        break
                else:
                    break
            else:
                if test is None or test(d):
                    found.append(i)
    return guards_of


def _compile_leaf(node: _Node, fetchers: dict[str, Callable[[dict[str, Any]], Values]],
                  tests: list[Test | None] | None) -> Visit | None:
    """What a node reports by itself (its ``done`` and ``guarded`` rules), as one closure."""
    untested = tuple(i for i in node.done if tests is None or tests[i] is None)
    tested = tuple((i, t) for i in node.done if tests is not None and (t := tests[i]) is not None)
    guards = _compile_guards(node.guarded, fetchers, tests) if node.guarded else None
    if guards is None and not tested:
        if not untested:
            return None

        def extend(d: dict[str, Any], found: list[int]) -> None:
            found.extend(untested)
        return extend
    if guards is not None and not tested and not untested:
        return guards
    if guards is None and not untested and len(tested) == 1:
        ((only, test),) = tested

        def one_test(d: dict[str, Any], found: list[int]) -> None:
            if test(d):
                found.append(only)
        return one_test
    if guards is None and not untested:
        def tests_only(d: dict[str, Any], found: list[int]) -> None:
            for i, test in tested:
                if test(d):
                    found.append(i)
        return tests_only

    if len(tested) == 1:  # the other usual leaves: one tested rule beside untested ones or guards
        ((single, single_test),) = tested
        if guards is None:
            def extend_one_test(d: dict[str, Any], found: list[int]) -> None:
                found.extend(untested)
                if single_test(d):
                    found.append(single)
            return extend_one_test
        if not untested:
            def one_test_guards(d: dict[str, Any], found: list[int]) -> None:
                if single_test(d):
                    found.append(single)
                guards(d, found)
            return one_test_guards

    def leaf(d: dict[str, Any], found: list[int]) -> None:
        if untested:
            found.extend(untested)
        for i, test in tested:
            if test(d):
                found.append(i)
        if guards is not None:
            guards(d, found)
    return leaf


#: a node's ``rest`` runs from inside the node's closure, up to this many in a row; a longer chain
#: (rules on many distinct fields) runs as a loop over such segments, so the stack stays shallow
NESTED_RESTS = 16


def _compile(node: _Node, fetchers: dict[str, Callable[[dict[str, Any]], Values]],
             tests: list[Test | None] | None) -> Visit:
    """One closure per tree node, specialised to what the node holds (no per-event dispatch on it).

    With ``tests``, a rule reached is only reported when its residual test passes (the engine's
    match); without, every rule reached is (its candidates)."""
    chain: list[_Node] = []
    cur: _Node | None = node
    while cur is not None:
        chain.append(cur)
        cur = cur.rest
    segments: list[Visit] = []
    for start in range(0, len(chain), NESTED_RESTS):
        visit: Visit | None = None
        run: list[_Node] = []  # bare shallow splits in a row (read backwards), run as one loop
        for n in reversed(chain[start:start + NESTED_RESTS]):
            own = _compile_leaf(n, fetchers, tests)
            if n.path is not None and n.shallow and own is None:
                run.append(n)
                continue
            if run:
                visit = _compile_run(run[::-1], fetchers, tests, visit)
                run = []
            if n.path is not None:
                visit = _compile_split(n, fetchers, tests, own, visit)
            elif own is not None:
                visit = own  # a node without a split is the last of its chain
        if run:
            visit = _compile_run(run[::-1], fetchers, tests, visit)
        if visit is not None:
            segments.append(visit)
    if not segments:
        return _noop
    if len(segments) == 1:
        return segments[0]
    steps = tuple(segments)

    def each(d: dict[str, Any], found: list[int]) -> None:
        for step in steps:
            step(d, found)
    return each


Step = tuple[str, str | None, "_Branches", Callable[[int], Visit | None],
             Callable[[Values, dict[str, Any], list[int]], None], Callable[[dict[str, Any]], Values], str]


def _compile_run(run: list[_Node], fetchers: dict[str, Callable[[dict[str, Any]], Values]],
                 tests: list[Test | None] | None, rest: Visit | None) -> Visit:
    """Shallow splits with no rules of their own, one after the other (each node's ``rest`` is
    the next): one loop over them instead of a closure calling the next, the same reads and
    branches as :func:`_compile_split`'s ``bare1``/``bare2``."""
    if len(run) == 1:
        return _compile_split(run[0], fetchers, tests, None, rest)
    steps: tuple[Step, ...] = tuple(_split_step(n, fetchers, tests) for n in run)

    def bare_run(d: dict[str, Any], found: list[int]) -> None:
        for first, second, raw, iget, fan, fetch, flat in steps:
            a = d.get(first)
            if second is None:
                if a.__class__ is str:
                    child = raw[a]
                    if child is not None:
                        child(d, found)
                elif a is not None:
                    fan(fetch(d), d, found)
            elif a.__class__ is dict:
                v = a.get(second)
                if v.__class__ is str:
                    child = raw[v]
                    if child is not None:
                        child(d, found)
                elif v.__class__ is int:
                    child = iget(v)
                    if child is not None:
                        child(d, found)
                elif v is not None:
                    fan(fetch(d), d, found)
            elif a is not None or flat in d:
                fan(fetch(d), d, found)
        if rest is not None:
            rest(d, found)
    return bare_run


#: distinct texts a split remembers (see :class:`_Branches`); past that it forgets them and starts over
BRANCH_MEMO = 4096


class _Branches(dict[str, "Visit | None"]):
    """A split's branches by the event's text as it comes: ``branches[text]`` is the branch of the
    text lower-cased (None: no branch). Each new text is lower-cased once and remembered (bounded),
    so the usual event finds its branch in one look-up, without a lower-cased copy per field read."""

    __slots__ = ("lowered",)

    def __init__(self, lowered: dict[str, Visit]) -> None:
        super().__init__(lowered)
        self.lowered = lowered

    def __missing__(self, text: str) -> Visit | None:
        child = self.lowered.get(text.lower())
        if len(self) >= BRANCH_MEMO:  # a field of many distinct values: forget, keep the branches
            self.clear()
            self.update(self.lowered)
        self[text] = child
        return child


def _split_step(node: _Node, fetchers: dict[str, Callable[[dict[str, Any]], Values]],
                tests: list[Test | None] | None) -> Step:
    """What a split reads and where it goes: (first key, second key or None, branch by text,
    branch by integer, fan-out over several values, generic fetcher, the whole path)."""
    branches = {v: _compile(c, fetchers, tests) for v, c in node.branches.items()}
    raw = _Branches(branches)
    fetch = node.fetch
    assert fetch is not None and node.path is not None

    def fan(got: Values, d: dict[str, Any], found: list[int]) -> None:
        if got.__class__ is str:
            child = raw[got]
            if child is not None:
                child(d, found)
            return
        for v in got:
            child = raw[v]
            if child is not None:
                found.append(_MULTI)
                child(d, found)

    # an integer value (a status code) finds its branch without being written out: the keys that
    # are integers written plainly, by number
    by_int: dict[int, Visit] = {}
    for value, child in branches.items():
        try:
            number = int(value)
        except ValueError:
            continue
        if str(number) == value:
            by_int[number] = child
    return node.first, node.second, raw, by_int.get, fan, fetch, node.path


def _compile_split(node: _Node, fetchers: dict[str, Callable[[dict[str, Any]], Values]],
                   tests: list[Test | None] | None, own: Visit | None, rest: Visit | None) -> Visit:
    """A node that splits on a field: its own rules (``own``), then the branch of the event's
    value, then the rules that do not constrain the field (``rest``)."""
    # an absent parent object (no ``responseStatus``) holds nothing, unless a flattened key
    # (``"responseStatus.code"``, the whole path ``flat``) stands for it
    first, second, raw, iget, fan, fetch, flat = _split_step(node, fetchers, tests)
    if not node.shallow:
        def split_deep(d: dict[str, Any], found: list[int]) -> None:
            if own is not None:
                own(d, found)
            fan(fetch(d), d, found)
            if rest is not None:
                rest(d, found)
        return split_deep
    split: Visit
    if second is None:
        def bare1(d: dict[str, Any], found: list[int]) -> None:  # the usual split: no rules of its own
            v = d.get(first)
            if v.__class__ is str:
                child = raw[v]
                if child is not None:
                    child(d, found)
            elif v is not None:
                fan(fetch(d), d, found)
            if rest is not None:
                rest(d, found)
        split = bare1
    else:
        def bare2(d: dict[str, Any], found: list[int]) -> None:
            a = d.get(first)
            if a.__class__ is dict:
                v = a.get(second)
                if v.__class__ is str:
                    child = raw[v]
                    if child is not None:
                        child(d, found)
                elif v.__class__ is int:  # a status code: as_text writes it plainly
                    child = iget(v)
                    if child is not None:
                        child(d, found)
                elif v is not None:
                    fan(fetch(d), d, found)
            elif a is not None or flat in d:
                fan(fetch(d), d, found)
            if rest is not None:
                rest(d, found)
        split = bare2
    if own is None:
        return split

    def own_then_split(d: dict[str, Any], found: list[int]) -> None:  # a node with rules of its own
        own(d, found)
        split(d, found)
    return own_then_split


class RuleIndex:
    """The rules of one source, indexed by the literal values they require.

    Every exact-value requirement of a rule (``verb=create``, ``objectRef.resource in (pods)``) is a
    step in a decision tree: an event reads the field a node splits on once, follows the branch of
    its value, and reaches only the rules whose requirements it meets. Rules whose requirements are
    substrings are found by those substrings in the raw line; rules with neither are always tested.
    """

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        costs = _literal_costs(rules)
        sub: list[tuple[int, tuple[bytes, ...]]] = []
        always: list[int] = []
        literals: set[str] = set()
        exact: set[int] = set()
        entries: list[tuple[int, list[Guard]]] = []
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
            eq_reqs = list(dict.fromkeys(q for q in r.reqs if q and all(a[0] in _VALUE_KINDS for a in q)))
            sub_reqs = [q for q in r.reqs if q and all(a[0] == "sub" for a in q)]
            if r.exact and len(eq_reqs) == len(r.reqs) and eq_reqs:
                exact.add(i)
            if eq_reqs:
                guards: list[Guard] = []
                for q in eq_reqs:
                    by_path: dict[str, set[str]] = {}
                    anything: set[str] = set()  # paths any text of which will do
                    for kind, path, value in q:
                        if kind == "any":
                            anything.add(path)
                        else:
                            by_path.setdefault(path, set()).add(value)
                    accepted = {p: ANY_TEXT if p in anything else frozenset(v) for p, v in by_path.items()}
                    accepted.update((p, ANY_TEXT) for p in anything)
                    guards.append(tuple(sorted(accepted.items())))
                entries.append((i, guards))
            elif sub_reqs:
                best = min(sub_reqs, key=lambda q: (len(q), -min(len(a[2]) for a in q)))
                sub.append((i, tuple(a[2].encode() for a in sorted(best))))
            else:
                always.append(i)
        self.fetchers: dict[str, Callable[[dict[str, Any]], Values]] = {}
        self.root = _build(entries, self.fetchers)
        for _i, guards in entries:  # guards left at the leaves read their fields through the same memo
            for g in guards:
                for p, _vals in g:
                    self.fetchers.setdefault(p, value_fetcher(p))
        self.sub = sub
        self.always = always
        self.exact = frozenset(exact)
        # per rule: what to run on a candidate. Rules reached through the tree have had every
        # exact-value requirement checked, so only their residual is left.
        self.tests: list[Callable[[dict[str, Any]], bool] | None] = []
        indexed = {i for i, _g in entries}
        for i, r in enumerate(rules):
            if i in indexed and r.residual_known:
                self.tests.append(r.residual)
            elif i in indexed and i in self.exact:
                self.tests.append(None)
            else:
                self.tests.append(r.match)
        self._matches = _compile(self.root, self.fetchers, self.tests)
        self.match = self._make_match()
        self.prefilter: Any = None
        if prefilterable and literals:
            self.prefilter = LiteralScanner(sorted(literals, key=len, reverse=True))
        self.literal_count = len(literals)

    def _sub_hits(self, line: bytes | None, found: list[int]) -> None:
        lowered = None
        for i, lits in self.sub:
            if line is not None:
                for lit in lits:  # most lines that hold a literal hold it in lower case already
                    if lit in line:
                        break
                    if lowered is None:
                        lowered = line.lower()
                    if lit in lowered:
                        break
                else:
                    continue
            found.append(i)

    @staticmethod
    def _ordered(found: list[int]) -> list[int]:
        found.sort()
        if found and found[0] == _MULTI:  # a rule reached through several values of one field
            return sorted({i for i in found if i != _MULTI})
        return found

    @cached_property
    def _candidates(self) -> Visit:
        """The tree without the rules' tests (for :meth:`candidates`; compiled on first use: the scan
        never asks for it)."""
        return _compile(self.root, self.fetchers, None)

    def candidates(self, d: dict[str, Any], line: bytes | None) -> list[int]:
        """Rules that can match ``d`` (ascending); ``line`` is its raw text when known (for substrings)."""
        found = list(self.always)
        self._candidates(d, found)
        if self.sub:
            self._sub_hits(line, found)
        return self._ordered(found)

    def _make_match(self) -> Callable[[dict[str, Any], bytes | None], list[Rule]]:
        """``match(d, line)``: the rules ``d`` matches, in index order (one closure, no look-ups on
        ``self`` per event)."""
        visit = self._matches
        rules = self.rules
        tests = self.tests
        always = tuple((i, tests[i]) for i in self.always)
        # a sub rule's literal is looked for in the raw line first, unless its match costs about
        # as little as that search (a few field reads: the line is a kilobyte)
        subs = tuple((i, lits if (rules[i].cost or CHEAP_MATCH + 1) > CHEAP_MATCH else (), tests[i])
                     for i, lits in self.sub)
        ordered = self._ordered
        # the usual indexes: every rule in the tree, or the others cheap enough to test directly
        direct = tuple((i, test) for i, lits, test in subs if not lits)
        if not always and len(direct) == len(subs):
            if not direct:
                def match_tree(d: dict[str, Any], line: bytes | None) -> list[Rule]:
                    found: list[int] = []
                    visit(d, found)
                    if not found:
                        return []
                    if len(found) == 1:
                        i = found[0]
                        if i != _MULTI:
                            return [rules[i]]
                    return [rules[i] for i in ordered(found)]
                return match_tree

            def match_direct(d: dict[str, Any], line: bytes | None) -> list[Rule]:
                found: list[int] = []
                visit(d, found)
                for i, test in direct:
                    if test(d):  # type: ignore[misc]
                        found.append(i)
                if not found:
                    return []
                if len(found) == 1:
                    i = found[0]
                    if i != _MULTI:
                        return [rules[i]]
                return [rules[i] for i in ordered(found)]
            return match_direct

        def match(d: dict[str, Any], line: bytes | None) -> list[Rule]:
            found: list[int] = []
            visit(d, found)
            for i, test in always:
                if test(d):  # type: ignore[misc]
                    found.append(i)
            if subs:
                lowered = None
                for i, lits, test in subs:
                    if line is not None and lits:
                        for lit in lits:  # as in _sub_hits
                            if lit in line:
                                break
                            if lowered is None:
                                lowered = line.lower()
                            if lit in lowered:
                                break
                        else:
                            continue
                    if test(d):  # type: ignore[misc]
                        found.append(i)
            if not found:
                return []
            if len(found) == 1:
                i = found[0]
                if i != _MULTI:
                    return [rules[i]]
            return [rules[i] for i in ordered(found)]
        return match


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
        return self._run(lines, name, source, on_event)

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
        return self._run(((c.line, c.raw) for c in chunks), name, source, _per_match(on_match))

    def _run(self, lines: Iterable[tuple[int, bytes]], name: str, source: str | None,
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
            return self._scan(lines, name, source, on_event)
        finally:
            if was_enabled:
                gc.enable()

    def _scan(self, lines: Iterable[tuple[int, bytes]], name: str, source: str | None,
              on_event: OnEvent) -> str | None:
        import orjson

        loads = orjson.loads
        decode_error = orjson.JSONDecodeError
        stats = self.stats
        idx: RuleIndex | None = self.index(source) if source else None
        match = idx.match if idx is not None else None
        # the first object is always parsed and looked at whole: it tells raw events from a managed
        # cluster's envelopes (sources.managed). Raw inputs then take the fast path and the prefilter;
        # enveloped ones are unwrapped line by line, unfiltered (an event inside a JSON string has its
        # quotes escaped, so the raw-line literals do not apply), each event read as its own source
        # unless the source was given (a GKE export mixes Kubernetes with other Google services).
        fast: Callable[[dict[str, Any], bytes | None], list[Rule]] | None = None
        prefilter: Callable[[bytes], Any] | None = None
        checked = enveloped = False
        forced = source is not None
        tried = passed = 0
        n_lines = n_events = n_skipped = 0  # kept in locals, added to ``stats`` at the end
        line_no = 0
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
                        prefilter = idx.prefilter.search if (idx.prefilter and self.use_prefilter) else None
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
        except InputTooLarge as exc:  # a decompression bomb: where it was stopped, and what was read before
            stats.problem(name, line_no + 1, f"cannot read further: {exc}")
        except READ_ERRORS as exc:  # a truncated or corrupt gzip, a failing disk: keep what was read
            stats.problem(name, None, f"cannot read further: {exc}")
        finally:
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
