"""The sign expression grammar: small, explicit, and parsed by hand (never ``eval``).

::

    sign     := agg [ "by" FIELD ] CMP threshold [ "over" DURATION ]
    agg      := FUNC "(" [ FIELD | filter ] [ "," filter ] ")" | FIELD
    FUNC     := p50 | p90 | p95 | p99 | pNN | avg | mean | min | max | sum | count | rate | distinct
    threshold:= NUMBER [ "%" ] [ "/" UNIT ] | NUMBER ("×" | "*" | "x") ("baseline" | "usual")
    filter   := and_f { "or" and_f } ;  and_f := not_f { "and" not_f }
    not_f    := "not" not_f | "(" filter ")" | FIELD OP literal | FIELD "in" "(" literal {"," literal} ")"
                | FIELD "exists"
    OP       := = | == | != | < | <= | > | >= | ~ (RE2 search)

A bare field is ``sum(field)`` (``rows_returned by user > 10 × usual``), except ``availability`` which is
``avg(availability)`` (a percentage). ``rate(filter) > 20/min`` compares matching records per minute.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cnsec.detect.fields import as_number
from cnsec.errors import UsageError

Record = dict[str, Any]
Pred = Callable[[Record], bool]

UNITS = {"s": 1.0, "sec": 1.0, "second": 1.0, "m": 60.0, "min": 60.0, "minute": 60.0, "h": 3600.0,
         "hour": 3600.0, "d": 86400.0, "day": 86400.0}
FUNCS = {"avg", "mean", "min", "max", "sum", "count", "rate", "distinct"}
CMPS = ("<=", ">=", "!=", "==", "<", ">", "=", "~")
REGEX_MEMO = 8192

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<dur>\d+(?:\.\d+)?(?:ms|s|m|h|d)(?![A-Za-z0-9_]))
  | (?P<num>[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
  | (?P<op><=|>=|!=|==|<|>|=|~)
  | (?P<punct>[(),%/*×])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_.\-:]*)
""", re.VERBOSE)


@dataclass(frozen=True)
class Tok:
    kind: str
    text: str
    pos: int


def tokenize(text: str) -> list[Tok]:
    out: list[Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise UsageError(f"sign expression: unexpected {text[pos]!r} at column {pos + 1}: {text}")
        kind = m.lastgroup or ""
        if kind != "ws":
            out.append(Tok(kind, m.group(), pos))
        pos = m.end()
    return out


def duration(text: str) -> float:
    """``5m`` → 300.0 (``ms``, ``s``, ``m``, ``h``, ``d``); a bare number is seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*", str(text))
    if m is None:
        raise UsageError(f"not a duration: {text!r} (expected e.g. 30s, 5m, 1h)")
    value = float(m.group(1))
    unit = m.group(2) or "s"
    return value / 1000.0 if unit == "ms" else value * UNITS[unit]


@dataclass
class Filter:
    """A compiled boolean condition over one record, with the fields it reads."""

    pred: Pred
    text: str
    fields: frozenset[str] = frozenset()


def _forms(lit: Any) -> frozenset[Any]:
    """The values equal to a literal: ``401`` matches 401, 401.0 and "401" (JSON is not always typed)."""
    num = as_number(lit)
    if num is None:
        return frozenset((str(lit),))
    forms: set[Any] = {num, str(lit)}
    if num.is_integer():
        forms.add(str(int(num)))
    return frozenset(forms)


def _cmp(field_name: str, op: str, lit: Any) -> Pred:
    if op == "~":
        import re2

        try:
            rx = re2.compile(str(lit))
        except Exception as exc:  # re2.error
            raise UsageError(f"sign expression: bad regular expression {lit!r}: {exc}") from None
        search = rx.search
        seen: dict[str, bool] = {}  # values repeat (the same paths, again and again): remember answers

        def match_re(r: Record) -> bool:
            v = r.get(field_name)
            if v is None:
                return False
            text = v if v.__class__ is str else str(v)
            hit = seen.get(text)
            if hit is None:
                hit = search(text) is not None
                if len(seen) >= REGEX_MEMO:
                    seen.clear()
                seen[text] = hit
            return hit
        return match_re
    num = as_number(lit)
    if op in ("=", "=="):
        accepted = _forms(lit)
        return lambda r: r.get(field_name) in accepted
    if op == "!=":
        inner = _cmp(field_name, "=", lit)
        return lambda r: field_name in r and not inner(r)
    if num is None:
        raise UsageError(f"sign expression: {field_name} {op} needs a number, got {lit!r}")
    limit = num
    compare: Callable[[float], bool] = {
        "<": lambda x: x < limit, "<=": lambda x: x <= limit,
        ">": lambda x: x > limit, ">=": lambda x: x >= limit,
    }[op]

    def rel(r: Record) -> bool:
        v = as_number(r.get(field_name))
        return v is not None and compare(v)
    return rel


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = tokenize(text)
        self.i = 0

    def fail(self, what: str) -> UsageError:
        tok = self.peek()
        where = f"at column {tok.pos + 1} ({tok.text!r})" if tok else "at the end"
        return UsageError(f"sign expression: {what} {where}: {self.text}")

    def peek(self, ahead: int = 0) -> Tok | None:
        j = self.i + ahead
        return self.toks[j] if j < len(self.toks) else None

    def take(self, text: str | None = None, kind: str | None = None) -> Tok:
        tok = self.peek()
        if tok is None or (text is not None and tok.text.lower() != text) or (kind is not None
                                                                                and tok.kind != kind):
            raise self.fail(f"expected {text or kind}")
        self.i += 1
        return tok

    def accept(self, text: str) -> bool:
        tok = self.peek()
        if tok is not None and tok.text.lower() == text:
            self.i += 1
            return True
        return False

    def at_end(self) -> bool:
        return self.i >= len(self.toks)

    # -- filters -----------------------------------------------------------------------------------
    def filter(self) -> Filter:
        start = self.i
        pred, fields = self._or()
        end_pos = self.toks[self.i - 1].pos + len(self.toks[self.i - 1].text) if self.i > start else 0
        return Filter(pred, self.text[self.toks[start].pos:end_pos].strip(), frozenset(fields))

    def _or(self) -> tuple[Pred, set[str]]:
        return self._joined("or", self._and, any)

    def _and(self) -> tuple[Pred, set[str]]:
        return self._joined("and", self._not, all)

    def _joined(self, word: str, operand: Callable[[], tuple[Pred, set[str]]],
                fold: Callable[[Iterable[bool]], bool]) -> tuple[Pred, set[str]]:
        """Operands joined by ``and``/``or``; two operands (the common case) get a closure without a
        generator, since filters run once per record."""
        p, f = operand()
        parts = [p]
        while self.accept(word):
            q, g = operand()
            parts.append(q)
            f |= g
        if len(parts) == 1:
            return p, f
        if len(parts) == 2:
            a, b = parts
            if word == "or":
                return (lambda r: a(r) or b(r)), f
            return (lambda r: a(r) and b(r)), f
        return (lambda r: fold(x(r) for x in parts)), f

    def _not(self) -> tuple[Pred, set[str]]:
        if self.accept("not"):
            p, f = self._not()
            return (lambda r: not p(r)), f
        if self.accept("("):
            p, f = self._or()
            self.take(")")
            return p, f
        name = self.take(kind="ident").text
        if self.accept("exists"):
            return (lambda r: r.get(name) is not None), {name}
        if self.accept("in"):
            self.take("(")
            values = [self.literal()]
            while self.accept(","):
                values.append(self.literal())
            self.take(")")
            accepted = frozenset().union(*(_forms(v) for v in values))
            return (lambda r: r.get(name) in accepted), {name}
        op = self.take(kind="op").text
        return _cmp(name, op, self.literal()), {name}

    def literal(self) -> Any:
        tok = self.peek()
        if tok is None:
            raise self.fail("expected a value")
        self.i += 1
        if tok.kind == "str":
            body = tok.text[1:-1]
            return re.sub(r"\\([\"'\\])", r"\1", body)  # only quotes and backslashes: regexes keep \s
        if tok.kind == "num":
            return float(tok.text) if any(c in tok.text for c in ".eE") else int(tok.text)
        if tok.kind in ("ident", "dur"):
            return tok.text
        raise self.fail("expected a value")


def parse_filter(text: str) -> Filter:
    """A boolean record condition (``status = 401 and path ~ "login"``)."""
    p = _Parser(text)
    if p.at_end():
        raise UsageError("sign expression: empty condition")
    f = p.filter()
    if not p.at_end():
        raise p.fail("unexpected text")
    return f


@dataclass
class MetricExpr:
    """A metric condition over a window, parsed from the grammar above."""

    text: str
    func: str  # avg min max sum count rate distinct quantile
    field: str | None
    quantile: float | None
    where: Filter | None
    by: str | None
    op: str
    threshold: float
    relative: bool  # threshold × baseline
    per: float | None  # rate unit in seconds
    window: float
    fields: frozenset[str] = frozenset()

    def describe(self) -> str:
        return self.text


def parse_metric(text: str, default_window: float = 300.0) -> MetricExpr:
    p = _Parser(text)
    head = p.take(kind="ident").text
    lower = head.lower()
    quantile: float | None = None
    fld: str | None = None
    where: Filter | None = None
    if p.accept("("):
        qm = re.fullmatch(r"p(\d{1,2}(?:\.\d+)?)", lower)
        if qm:
            func, quantile = "quantile", float(qm.group(1)) / 100.0
        elif lower in FUNCS:
            func = "avg" if lower == "mean" else lower
        else:
            raise UsageError(f"sign expression: unknown function {head!r} (expected one of pNN, "
                             f"{', '.join(sorted(FUNCS))}): {text}")
        if func in ("count", "rate"):
            if not p.accept(")"):
                where = p.filter()
                p.take(")")
        else:
            fld = p.take(kind="ident").text
            if p.accept(","):
                where = p.filter()
            p.take(")")
    elif lower == "availability":
        func, fld = "avg", head
    else:
        func, fld = "sum", head
    by = None
    if p.accept("by"):
        by = p.take(kind="ident").text
    op_tok = p.take(kind="op")
    if op_tok.text not in ("<", "<=", ">", ">="):
        raise UsageError(f"sign expression: a metric condition compares with <, <=, > or >=: {text}")
    num_tok = p.peek()
    if num_tok is None or num_tok.kind != "num":
        raise p.fail("expected a number")
    p.i += 1
    threshold = float(num_tok.text)
    relative = False
    per: float | None = None
    if p.accept("%"):
        pass
    if p.peek() is not None and p.peek().text.lower() in ("×", "*", "x"):  # type: ignore[union-attr]
        p.i += 1
        word = p.take(kind="ident").text.lower()
        if word not in ("baseline", "usual"):
            raise UsageError(f"sign expression: expected 'baseline' or 'usual' after ×, got {word!r}: {text}")
        relative = True
    elif p.accept("/"):
        unit = p.take(kind="ident").text.lower()
        if unit not in UNITS:
            raise UsageError(f"sign expression: unknown rate unit {unit!r}: {text}")
        per = UNITS[unit]
    window = None
    if p.accept("over"):
        tok = p.peek()
        if tok is None or tok.kind not in ("dur", "num"):
            raise p.fail("expected a duration")
        p.i += 1
        window = duration(tok.text)
    if not p.at_end():
        raise p.fail("unexpected text")
    if func == "rate" and per is None and not relative:
        per = 1.0
    if window is None:
        window = per if (func == "rate" and per) else default_window
    if window <= 0:
        raise UsageError(f"sign expression: the window must be positive: {text}")
    fields = set(where.fields if where else ())
    if fld:
        fields.add(fld)
    if by:
        fields.add(by)
    return MetricExpr(text=text, func=func, field=fld, quantile=quantile, where=where, by=by,
                      op=op_tok.text, threshold=threshold, relative=relative, per=per, window=window,
                      fields=frozenset(fields))
