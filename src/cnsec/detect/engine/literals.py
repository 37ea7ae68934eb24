"""Literal planning: which one literal of each rule's requirements the prefilter and the index use,
and the multi-literal scanner over raw lines (Hyperscan, else RE2)."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

from cnsec.detect.rules import Rule
from cnsec.detect.rules.matcher import prefilter_literal

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


#: longest alternation of literals given to Hyperscan as one expression (its limit is about 16,000)
HS_EXPRESSION_MAX = 8000


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

