"""cnsec.yamlsafe: its fast document builder gives exactly what PyYAML's constructor gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from cnsec.yamlsafe import AliasBomb, LineDict, _Loader, load_documents, may_be_deep

CORPUS = Path(__file__).resolve().parents[1] / "../shared/corpora/assess"


def _reference(text: str) -> list[Any]:
    """The documents as PyYAML's own (slow, generic) constructor builds them with our loader."""
    loader = _Loader(text)
    try:
        docs = []
        while loader.check_node():
            docs.append(loader.construct_document(loader.get_node()))
        return docs
    finally:
        loader.dispose()


def _same(a: Any, b: Any) -> bool:
    """Equal values, equal types, and equal lines on every mapping and key."""
    if type(a) is not type(b):
        return False
    if isinstance(a, LineDict):
        return (a.line == b.line and a.key_lines == b.key_lines and list(a) == list(b)
                and all(_same(a[k], b[k]) for k in a))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b) or (a != a and b != b)  # NaN


def _fast(text: str) -> list[Any]:
    return [doc for doc, _ in load_documents(text)]


SCALARS = """\
s: text
q: "quoted: yes"
n: ~
n2: null
b: [true, False, yes, off]
i: [0, -3, 0x1F, 0o17, 0b101, 1_000, 190:20:30]
f: [1.5, -.inf, .nan, 6.8523015e+5, 1_0.5]
t: 2001-12-14t21:59:43.10-05:00
d: 2002-12-14
bin: !!binary aGVsbG8=
str_int: !!str 42
int_str: !!int "7"
empty:
"""


def test_scalars_of_every_core_tag_are_built_as_pyyaml_builds_them() -> None:
    assert _same(_fast(SCALARS), _reference(SCALARS))


def test_timestamps_stay_text() -> None:
    (doc,) = _fast(SCALARS)
    assert doc["t"] == "2001-12-14t21:59:43.10-05:00" and doc["d"] == "2002-12-14"


def test_lines_of_mappings_and_keys_are_kept() -> None:
    text = "a: 1\nb:\n  c: 2\n  d:\n    - e: 3\n"
    (doc,) = _fast(text)
    assert doc.key_lines == {"a": 1, "b": 2}
    assert doc["b"].key_lines == {"c": 3, "d": 4}
    assert doc["b"]["d"][0].line == 5


def test_merge_keys_and_aliases_are_resolved_and_shared() -> None:
    text = """\
base: &base {image: nginx, ports: &p [80, 443]}
over: &o {image: redis}
one:
  <<: *base
  name: one
two:
  <<: [*o, *base]
  ports: *p
"""
    (doc,) = _fast(text)
    assert _same([doc], _reference(text))
    assert doc["one"] == {"image": "nginx", "ports": [80, 443], "name": "one"}
    assert doc["two"]["image"] in ("redis", "nginx")  # PyYAML's merge order, whichever it is, kept
    assert doc["two"]["ports"] is doc["base"]["ports"]


def test_sets_ordered_maps_and_pairs_go_through_pyyaml() -> None:
    text = "s: !!set {a, b}\no: !!omap [{x: 1}, {y: 2}]\np: !!pairs [{x: 1}, {x: 2}]\n"
    assert _same(_fast(text), _reference(text))


def test_an_unknown_tag_is_an_error_as_before() -> None:
    with pytest.raises(yaml.constructor.ConstructorError, match="could not determine a constructor"):
        _fast("a: !Ref thing\n")


def test_an_unhashable_key_is_an_error_with_its_line() -> None:
    with pytest.raises(yaml.constructor.ConstructorError, match="found unhashable key") as err:
        _fast("ok: 1\n? [a, b]\n: 2\n")
    assert err.value.problem_mark is not None and err.value.problem_mark.line == 1


def test_a_self_referencing_alias_is_refused_as_a_cycle() -> None:
    with pytest.raises(AliasBomb, match="refers to itself"):
        _fast("a: &x [1, *x]\n")


def test_a_billion_laughs_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    with pytest.raises(AliasBomb, match="YAML bomb"):
        _fast("\n".join(lines) + "\n")


def test_deep_nesting_is_refused_not_a_recursion_crash() -> None:
    text = "a: " + "[" * 300 + "]" * 300 + "\n"
    assert may_be_deep(text)
    with pytest.raises(AliasBomb, match="nested deeper"):
        _fast(text)


@pytest.mark.parametrize("text", ["x: " + " " * 250 + "y\n", "- " * 60 + "x\n", "a:\n\t- b\n"])
def test_the_deep_hint_still_sees_long_indents_dash_runs_and_tabs(text: str) -> None:
    from cnsec.yamlsafe import _DEEP_HINT

    assert may_be_deep(text) == (_DEEP_HINT.search(text) is not None or text.count("[") >= 200)


def test_every_corpus_manifest_is_built_exactly_as_pyyaml_builds_it() -> None:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpora/assess is not present")
    compared = 0
    for path in sorted(CORPUS.rglob("*")):
        if path.suffix not in (".yaml", ".yml") or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            expected = _reference(text)
        except (yaml.YAMLError, ValueError, TypeError, KeyError, RecursionError):
            continue
        got = _fast(text)
        assert _same(got, expected), path
        compared += 1
    assert compared > 1500


def test_the_same_text_quoted_and_plain_keeps_its_own_type() -> None:
    (doc,) = _fast('a: true\nb: "true"\nc: 10\nd: "10"\ne: true\n')
    assert doc == {"a": True, "b": "true", "c": 10, "d": "10", "e": True}


def test_a_plain_equals_and_a_merge_marker_as_values_are_strings_in_both_builders() -> None:
    text = "enum:\n- '!='\n- =\n- =~\nop: =\nlit: <<\nbase: &b {x: 1}\nm:\n  <<: *b\n  y: 2\n"
    fast = _fast(text)
    assert _same(fast, _reference(text))
    assert fast[0]["enum"] == ["!=", "=", "=~"] and fast[0]["op"] == "=" and fast[0]["lit"] == "<<"
    assert fast[0]["m"] == {"x": 1, "y": 2}  # a merge key is still a merge


def test_one_bad_document_costs_only_itself_and_lines_stay_those_of_the_whole_text() -> None:
    from cnsec.yamlsafe import load_each_document

    text = "a: 1\n---\nb: [\n---\nc:\n  d: 3\n---\ne: &x [*x]\n"
    docs, errors = load_each_document(text)
    assert [(d, line) for d, line in docs][:2] == [({"a": 1}, 1), ({"c": {"d": 3}}, 5)]
    assert docs[1][0]["c"].line == 6 and docs[1][0].key_lines == {"c": 5}
    assert errors[0].line == 3
    assert all(e.message.startswith("invalid YAML") for e in errors)
