"""The fast HCL parser gives python-hcl2's exact output, or steps aside and python-hcl2 decides.

python-hcl2 is the oracle throughout: outputs are compared by ``repr`` so that ``1``, ``1.0`` and
``True`` or a different key order never pass for each other.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import hcl2
import pytest
from hcl2.utils import SerializationOptions

from cnsec.assess.loaders import hcl as fast_hcl
from cnsec.assess.loaders import terraform
from cnsec.assess.loaders.terraform import parse_terraform

ROOT = Path(__file__).resolve().parents[3]
SHARED = ROOT.parent / "shared" / "corpora"
LOCAL_TF = sorted(p for d in ("tests", "examples") for p in (ROOT / d).rglob("*.tf"))
# Measured when the fast parser was written: none of the 52 .tf files of ../shared/corpora, nor of
# the 80 under tests/ and examples/, falls back to python-hcl2.
MAX_FALLBACKS = 3


def slow(text: str) -> str | None:
    """python-hcl2's dict for ``text`` as its repr, None when python-hcl2 rejects the text."""
    try:
        return repr(hcl2.loads(text, serialization_options=SerializationOptions(with_comments=False)))
    except Exception:
        return None


def fast(text: str) -> str | None:
    """The fast parser's dict as its repr, None when it falls back."""
    try:
        return repr(fast_hcl.loads(text))
    except fast_hcl.Unsupported:
        return None


def agrees(text: str) -> bool:
    """The fast parser falls back, or gives python-hcl2's output (and never accepts what it rejects)."""
    got = fast(text)
    return got is None or got == slow(text)


def old_parse(text: str, file: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """parse_terraform as it was before the fast path: python-hcl2 for every text."""

    def always_unsupported(_text: str) -> dict[str, Any]:
        raise fast_hcl.Unsupported("disabled")

    with monkeypatch.context() as m:
        m.setattr(terraform.fast_hcl, "loads", always_unsupported)
        return parse_terraform(text, file)


# -- (1) real files ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", LOCAL_TF, ids=lambda p: str(p.relative_to(ROOT)))
def test_bundled_tf_file_parses_like_python_hcl2_or_falls_back(path: Path) -> None:
    assert agrees(path.read_text())


def test_bundled_tf_files_rarely_fall_back() -> None:
    fallbacks = [str(p.relative_to(ROOT)) for p in LOCAL_TF if fast(p.read_text()) is None]
    assert len(fallbacks) <= MAX_FALLBACKS, fallbacks


def test_corpus_tf_files_parse_like_python_hcl2_with_few_fallbacks() -> None:
    if not SHARED.is_dir():
        pytest.skip("../shared/corpora is absent")
    files = sorted(SHARED.rglob("*.tf"))
    if not files:
        pytest.skip("../shared/corpora has no .tf files")
    mismatches, fallbacks = [], []
    for path in files:
        text = path.read_text(errors="replace")
        got = fast(text)
        if got is None:
            fallbacks.append(path.name)
        elif got != slow(text):
            mismatches.append(path.name)
    assert mismatches == []
    assert len(fallbacks) <= MAX_FALLBACKS, fallbacks


def test_corpus_tf_files_give_the_same_resources_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    files = LOCAL_TF + (sorted(SHARED.rglob("*.tf")) if SHARED.is_dir() else [])
    for path in files:
        text = path.read_text(errors="replace")
        assert parse_terraform(text, str(path)) == old_parse(text, str(path), monkeypatch), path


# -- (2) one construct at a time -----------------------------------------------------------------

CONSTRUCTS = {
    "empty file": "",
    "only comments": "# one\n// two\n/* three\n four */\n",
    "no final newline": "a = 1",
    "string": 'a = "hello world"\n',
    "string escapes": 'a = "q\\"uote \\\\ back \\n nl \\u00e9 \\t"\n',
    "string with a real newline": 'a = "one\ntwo"\n',
    "string dollar and percent": 'a = "$5 and 10% $ %"\n',
    "escaped interpolation": 'a = "$${not.this} %%{nor this}"\n',
    "interpolation": 'a = "arn:${var.partition}:s3:::${ aws_s3_bucket.b.id }/*"\n',
    "nested interpolation": 'a = "${lookup(var.m, "k-${var.env}", "d")}"\n',
    "only interpolation": 'a = "${var.x}"\n',
    "integers": "a = 1\nb = -3\nc = 007\nd = 99999999999999999999\n",
    "floats": "a = 1.5\nb = -2.50\nc = 1e3\nd = 2.5E-2\n",
    "literals": "a = true\nb = false\nc = null\n",
    "bare identifier": "a = foo\nb = x-y\n",
    "traversals": "a = var.x\nb = aws_s3_bucket.b.id\nc = each.value.name\nd = var.true\n",
    "index": 'a = var.list[0]\nb = var.map["k"]\nc = var.m[ var.k ]\nd = a.0.1\ne = a.01\n',
    "splats": "a = aws_instance.w.*.id\nb = aws_instance.w[*].id\nc = x[*][0].y\n",
    "function calls": 'a = f()\nb = lookup(var.m, "k", null)\nc = concat(a, b,)\nd = max(var.l...)\n',
    "function call over lines": "a = merge(\n  var.a,\n  var.b\n  , var.c,\n)\nb = f(\n)\n",
    "call then traversal": "a = element(var.l, 0).id\nb = f(x)[1]\n",
    "tuple": 'a = [1, "two", three, [4], {five = 5}]\n',
    "tuple over lines": 'a = [\n  "x", # first\n  "y"\n  , "z",\n]\nb = []\n',
    "object": 'a = { x = 1, "y" = 2, z: 3 }\n',
    "object over lines": 'a = {\n  x = 1\n  y = [2]\n  # note\n  z = { w = "v" },\n}\nb = {}\n',
    "object keys": 'a = {\n  (var.k) = 1\n  var.k2 = 2\n  true = 3\n  null = 4\n  "${x}" = 5\n}\n',
    "object duplicate keys": "a = { x = 1, y = 2, x = 3 }\n",
    "heredoc": 'policy = <<EOF\n{\n  "Version": "2012-10-17"\n}\nEOF\nafter = 1\n',
    "heredoc indented marker": "a = <<EOT\n  body ${x}\n  EOT\n",
    "heredoc trimmed": "a = <<-EOT\n    one\n      two\n    EOT\n",
    "heredoc empty": "a = <<E\nE\n",
    "heredoc at end of file": "a = <<EOF\nx\nEOF",
    "heredoc in a call": "a = jsonencode(<<EOF\nx\nEOF\n)\n",
    "conditional": 'a = var.x ? "y" : "n"\n',
    "conditional over lines": "a = var.enabled\n  ? 1\n  : var.count > 2 ? 2 : 3\n",
    "binary operators": "a = 1 + 2 * 3 - 4 / 5 % 6\nb = x == y && z != w || !v\nc = a < b\nd = a >= b\n",
    "binary over lines": "a = var.x &&\n  var.y\nb = var.x\n  || var.y\n",
    "unary": "a = !var.x\nb = -var.y\nc = - 3\nd = -(3)\ne = - 1e5\nf = a - -3\n",
    "parentheses": 'a = (var.x)\nb = (1)\nc = (true)\nd = ("s")\ne = (a + b) * 2\nf = ([1, "x"])\n',
    "negative number then minus": "a = 1 - 2\nb = a - b\nc = a -b\n",
    "block": 'resource "aws_s3_bucket" "b" {\n  bucket = "x"\n}\n',
    "block with identifier labels": "resource aws_s3_bucket b {\n  acl = private\n}\n",
    "one-line and empty blocks": 'locals { a = 1 }\nterraform {}\nx "y" {\n}\n',
    "repeated and nested blocks": (
        'resource "aws_security_group" "sg" {\n  ingress {\n    from_port = 22\n  }\n'
        '  ingress {\n    from_port = 443\n  }\n  dynamic "egress" {\n    for_each = var.rules\n'
        "    content {\n      port = egress.value\n    }\n  }\n}\n"
    ),
    "keyword names": "for_each = var.m\nin = 1\nif = 2\ntrue = 3\n",
    "for expressions": (
        "a = [for s in var.l : upper(s)]\nb = {for k, v in var.m : k => v}\n"
        "c = { for k, v in var.policies : k => v if var.create }\nd = {for k,v in local.m: k=>v...}\n"
        "e = flatten([for x in var.y: [for z in x: z.id]])\n"
        'f = [for p in ["user/x", "y"] :\n  "arn:${p}"\n]\ng = length([for x in var.l : x if x != ""]) > 0\n'
    ),
    "attribute replaces blocks": "a {}\na = 1\n",
    "duplicate attributes": "a = 1\nb = 2\na = 3\n",
    "comments everywhere": (
        "# top\nresource \"a\" \"b\" { # open\n  x = 1 // trailing\n  /* block */\n  y = [ # in tuple\n"
        "    1,\n  ]\n}\n"
    ),
}


@pytest.mark.parametrize("text", CONSTRUCTS.values(), ids=CONSTRUCTS.keys())
def test_construct_parses_exactly_like_python_hcl2(text: str) -> None:
    expected = slow(text)
    assert expected is not None, "the example itself must be valid HCL"
    assert fast(text) == expected


FALLS_BACK = {
    "template directive": 'a = "%{ if var.x }yes%{ endif }"\n',
    "line end before a block's brace": 'resource "a" "b"\n{\n  x = 1\n}\n',
    "provider function": "a = provider::aws::arn_parse(var.arn)\n",
    "carriage returns": "a = 1\r\nb = 2\r\n",
    "line end closing an interpolation": 'a = "${x + y\n}"\n',
    "comment before a continuing operator": "a = x /* c */ + y\n",
    "two line ends before an operator": "a = x\n\n  || y\n",
    "keyword in an expression": "a = var.for\n",
    "numeric object key": "a = {1 = 2}\n",
    "object elements on one line without separator": "a = {x = 1 y = 2}\n",
    "two attributes on one line": "a = 1 b = 2\n",
    "minus glued to a digit": "a = x -1\n",
    "deep nesting": "a = " + "[" * 200 + "]" * 200 + "\n",
}


@pytest.mark.parametrize("text", FALLS_BACK.values(), ids=FALLS_BACK.keys())
def test_unhandled_syntax_falls_back_to_python_hcl2(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(fast_hcl.Unsupported):
        fast_hcl.loads(text)
    assert parse_terraform(text, "x.tf") == old_parse(text, "x.tf", monkeypatch)


def test_hostile_nesting_falls_back_instead_of_exhausting_the_stack() -> None:
    for text in ("a = " + "(" * 100_000, "a = " + "{x = " * 100_000, 'a = "${' * 100_000, "a {" * 100_000):
        with pytest.raises(fast_hcl.Unsupported):
            fast_hcl.loads(text)


# -- (3) invalid HCL keeps python-hcl2's error ---------------------------------------------------

INVALID = {
    "unclosed block": 'resource "aws_s3_bucket" "b" {\n  bucket = "x"\n',
    "unterminated heredoc": 'variable "db" {\n  default = <<EOT\nSup3rS3cretPassw0rd\n',
    "two strings": 'resource "aws_db_instance" "d" {\n  password = "Sup3rS3cretPassw0rd" "x"\n}\n',
    "missing value": "a =\n",
    "unterminated string": 'a = "abc\n',
    "stray brace": "}\n",
    "line end before a trailing comma": "a = f(x\n,)\n",
    "double unary minus": "a = - -3\n",
    "block after attribute of the same name": "a = 1\na {}\n",
    "backslash before a line end": 'a = "x\\\ny"\n',
    "unknown character": "a = 1 @ 2\n",
    "nested too deeply": 'resource "aws_s3_bucket" "b" {\n  x = ' + "[" * 900 + "]" * 900 + "\n}\n",
}


@pytest.mark.parametrize("text", INVALID.values(), ids=INVALID.keys())
def test_invalid_hcl_gives_the_same_input_problem_as_before(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert fast(text) is None
    resources, problems, skipped = parse_terraform(text, "main.tf")
    assert resources == [] and len(problems) == 1 and problems[0].message.startswith("invalid HCL") and skipped == []
    assert (resources, problems, skipped) == old_parse(text, "main.tf", monkeypatch)


# -- (4) random HCL, valid and not ---------------------------------------------------------------

NAMES = ["a", "var", "each", "b_1", "x-y", "count", "true", "null", "for_each", "in", "self"]
SEPARATORS = [" "] * 12 + [""] * 6 + ["\n", " # c\n", " // c\n", " /* c */ ", "\t", "\n\n"]


def _term(rng: random.Random, depth: int) -> list[str]:
    kind = rng.randint(0, 13) if depth < 4 else rng.randint(0, 1) if depth > 6 else rng.randint(0, 5)
    if kind == 0:
        return [rng.choice(["0", "42", "007", "-3", "1.5", "-2.50", "1e3", "2.5E-2"])]
    if kind == 1:
        return [rng.choice(["true", "false", "null"])]
    if kind in (2, 3):
        out = [rng.choice(NAMES)]
        for _ in range(rng.randint(0, 3)):
            out += rng.choice([[".", rng.choice(NAMES)], [".", "12"], [".*"], ["[*]"],
                               ["[", *_expr(rng, depth + 1), "]"]])
        return out
    if kind == 4:
        parts = ['"']
        for _ in range(rng.randint(0, 3)):
            if rng.random() < 0.6:
                parts.append(rng.choice(["abc", " x ", "\\\"", "\\\\", "\\n", "$", "%", "$${x}", "%%{y}", "%{ if a }"]))
            else:
                parts += ["${", *_expr(rng, depth + 1), "}"]
        return [*parts, '"']
    if kind == 5:
        marker = rng.choice(["EOF", "E"])
        body = rng.choice(["", "x\n", "  a\n    b\n", "\nq\n", "${a}\nEOFX\n"])
        return [f"<<{rng.choice(['', '-'])}{marker}\n{body}{rng.choice(['', '  '])}{marker}\n"]
    if kind in (6, 7):
        out = ["["]
        for _ in range(rng.randint(0, 3)):
            out += [*_expr(rng, depth + 1), rng.choice([",", ",", ""])]
        return [*out, "]"]
    if kind in (8, 9):
        out = ["{"]
        for _ in range(rng.randint(0, 3)):
            key = rng.choice([[rng.choice(NAMES)], ['"k"'], ["(", "a", ")"], ["a", ".", "b"], ["1"]])
            out += [*key, rng.choice(["=", ":"]), *_expr(rng, depth + 1), rng.choice([",", "", "\n"])]
        return [*out, "}"]
    if kind == 10:
        out = [rng.choice(["f", "lookup"]), "("]
        for i in range(rng.randint(0, 3)):
            out += ([","] if i else []) + _expr(rng, depth + 1)
        return [*out, *rng.choice([[], [","], ["..."]]), ")"]
    if kind == 11:
        return ["(", *_expr(rng, depth + 1), ")"]
    if kind == 12:
        return [rng.choice(["!", "-"]), *_term(rng, depth + 1)]
    return ["[", "for", "v", "in", *_term(rng, depth + 1), ":", "v", "]"]


def _expr(rng: random.Random, depth: int = 0) -> list[str]:
    out = _term(rng, depth)
    for _ in range(rng.choice([0, 0, 0, 1, 2])):
        out += [rng.choice(["+", "-", "*", "/", "%", "==", "!=", "<", ">=", "&&", "||"]), *_term(rng, depth)]
    if rng.random() < 0.15:
        out = [*out, "?", *_expr(rng, depth + 1), ":", *_expr(rng, depth + 1)]
    return out


def _body(rng: random.Random, depth: int = 0) -> list[str]:
    out: list[str] = []
    for _ in range(rng.randint(0, 3)):
        if depth < 2 and rng.random() < 0.4:
            labels = rng.choice([[], ['"aws_s3_bucket"', '"b"'], ["dynamic", '"x"'], ['"${a}"']])
            out += [rng.choice(NAMES), *labels, "{", "\n", *_body(rng, depth + 1), "}", "\n"]
        else:
            out += [rng.choice(NAMES), "=", *_expr(rng), "\n"]
    return out


def random_document(rng: random.Random) -> str:
    """Tokens of HCL-ish text joined by random blanks, line ends and comments: often invalid."""
    out = []
    for piece in _body(rng):
        out.append(piece)
        if rng.random() < 0.5:
            out.append(rng.choice(SEPARATORS))
    return "".join(out)


@pytest.mark.parametrize("seed", range(4))
def test_random_hcl_parses_like_python_hcl2_or_falls_back(seed: int) -> None:
    rng = random.Random(seed)
    taken = 0
    for _ in range(150):
        text = random_document(rng)
        assert agrees(text), text
        taken += fast(text) is not None
    assert taken >= 20, "the fast path should take a fair share of the random documents"
