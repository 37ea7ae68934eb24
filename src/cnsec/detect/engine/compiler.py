"""The decision-tree compiler: exact-value requirements of many rules become one tree of closures,
so an event reads each field it needs once and follows only the branch its value names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cnsec.detect.engine.fetch import ANY_TEXT, Guard, Values, value_fetcher


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

