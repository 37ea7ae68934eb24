"""The rule index of one source: the compiled tree, the rules found by substring literals, and the
rules tested on every event (see :class:`RuleIndex`)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

from cnsec.detect.engine.compiler import _MULTI, Visit, _build, _compile
from cnsec.detect.engine.fetch import ANY_TEXT, Guard, Values, value_fetcher
from cnsec.detect.engine.literals import LiteralScanner, _choose, _literal_costs
from cnsec.detect.rules import Rule
from cnsec.detect.rules.matcher import ESCAPE as ESCAPE_LITERAL
from cnsec.detect.rules.matcher import prefilter_literal

#: a rule whose match costs at most this (matcher.Node.cost) is run without first looking for its
#: substring literal in the raw line: the search over the line would cost as much
CHEAP_MATCH = 6
#: a line holding a JSON escape is never judged by the substring literals it lacks (matcher.ESCAPE)
ESCAPE = ESCAPE_LITERAL.encode()
#: requirement kinds the decision tree checks by value: an exact value, or any value at all
_VALUE_KINDS = ("eq", "any")


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
            # and the escape: a line holding one may spell any literal (matcher.ESCAPE)
            self.prefilter = LiteralScanner(sorted({*literals, ESCAPE_LITERAL}, key=len, reverse=True))
        self.literal_count = len(literals)

    def _sub_hits(self, line: bytes | None, found: list[int]) -> None:
        lowered = escaped = None
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
                    if escaped is None:
                        escaped = ESCAPE in line
                    if not escaped:
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
                lowered = escaped = None
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
                            if escaped is None:
                                escaped = ESCAPE in line
                            if not escaped:
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
