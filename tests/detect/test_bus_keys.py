"""The bus publisher's fast key read (:func:`cnsec.detect.bus_adapter.fast_key_reader`) against the full
path it stands in for: ``orjson.loads`` of the line, then the source's key reader, for a line that is one
plain event. The guarantee: for every line, the fast reader either declines (None) or gives the key the
full path gives, on a line the full path takes; the one exception is a line with a number beyond a
double's range, which the worker then parks in the dead-letter subject (tests/serve/bus/test_faults.py)."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnsec.detect.alerts import _key_reader
from cnsec.detect.bus_adapter import EventReader, fast_key_reader
from cnsec.detect.normalize import SOURCES
from tests.detect.conftest import DETECT

#: the sources whose key fields the fast reader can read (and every other source's: None)
FAST = {s: fast_key_reader(k.key_fields) for s, k in SOURCES.items()}
READERS = {s: f for s, f in FAST.items() if f is not None}


def full_key(source: str, raw: bytes) -> str | None:
    """The key the publisher's full path gives a line, or None where it does not take the line as one
    plain event (malformed, not an object, a batch or an envelope: the engine's reader's)."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if obj.__class__ is not dict or "Records" in obj or "items" in obj or "data" in obj:
        return None
    return _key_reader(SOURCES[source].key_fields)(obj)


def check(raw: bytes) -> dict[str, str | None]:
    """Every fast reader on ``raw``: declined, or the full path's key. Returns what each gave."""
    got = {}
    for source, fast in READERS.items():
        key = fast(raw)
        if key is not None:
            assert key == full_key(source, raw), (source, raw[:300])
        got[source] = key
    return got


def test_the_sources_with_shallow_key_fields_have_a_fast_reader_and_the_deeper_ones_none() -> None:
    assert set(READERS) == {"k8s-audit", "cloudtrail", "json"}
    assert FAST["falco"] is None and FAST["gcp-audit"] is None  # key fields three members deep


def _values(path: Path) -> Iterator[Any]:
    data = path.read_bytes()
    try:
        yield orjson.loads(data)
        return
    except orjson.JSONDecodeError:
        pass
    for line in data.splitlines():
        try:
            yield orjson.loads(line)
        except orjson.JSONDecodeError:
            continue


def _events(value: Any) -> Iterator[dict[str, Any]]:
    """Every object a corpus value holds that a reader could meet as a line: the value itself, the
    records of a batch, a labelled test's log."""
    if isinstance(value, list):
        for v in value:
            yield from _events(v)
    elif isinstance(value, dict):
        yield value
        for member in ("Records", "items", "log"):
            yield from _events(value.get(member))


def corpus_lines() -> list[bytes]:
    logs = DETECT / "logs"
    if not logs.is_dir():
        pytest.skip(f"detect corpus not found at {logs}")
    out: list[bytes] = []
    for path in sorted(logs.rglob("*")):
        if not path.is_file():
            continue
        out += [line for line in path.read_bytes().splitlines() if line.strip()]  # the lines as written
        out += [orjson.dumps(e) for v in _values(path) for e in _events(v)]  # each event on its own line
    return out


def first_field(source: str, raw: bytes) -> bool:
    """Does the line, as orjson reads it, hold a non-empty string in the source's first key field?"""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return False
    first, _, second = SOURCES[source].key_fields[0].partition("=")[2].partition(".")
    v = obj.get(first) if isinstance(obj, dict) else None
    if second:
        v = v.get(second) if isinstance(v, dict) else None
    return isinstance(v, str) and bool(v)


def test_every_corpus_event_gets_the_full_paths_key_from_every_fast_reader_and_its_own_reads_it_fast() -> None:
    lines = corpus_lines()
    for raw in lines:
        check(raw)
    # the fast path is the usual one, not a rare exception: every line the full path takes as one plain
    # event with its first key field a non-empty string, the Kubernetes and CloudTrail readers key fast
    for source in ("k8s-audit", "cloudtrail"):
        usual = [raw for raw in lines if full_key(source, raw) is not None and first_field(source, raw)]
        assert len(usual) > 200
        assert [raw[:200] for raw in usual if READERS[source](raw) is None] == []


def test_corpus_lines_damaged_at_random_are_declined_or_keyed_as_the_full_path_keys_them() -> None:
    lines = [x for x in corpus_lines() if len(x) < 4000]
    rnd = random.Random(17)
    alphabet = b'{}[]",:\\ 0123456789eE.-+tfnaul\x00\x1f\x7f\xff\xc3\xa9\xed\xa0\n\r\t'
    kept = 0
    for _ in range(20_000):
        raw = bytearray(rnd.choice(lines))
        for _ in range(rnd.randint(1, 3)):
            at = rnd.randrange(len(raw) or 1)
            op = rnd.random()
            if op < 0.4 and raw:
                raw[at] = rnd.choice(alphabet)
            elif op < 0.7:
                del raw[at:at + rnd.randint(1, 8)]
            else:
                raw[at:at] = bytes([rnd.choice(alphabet)])
        kept += any(k is not None for k in check(bytes(raw)).values())
    assert kept > 1000  # damage elsewhere than the syntax (a letter in a value) still keys fast


K8S: Callable[[bytes], str | None] = READERS["k8s-audit"]
CLOUDTRAIL: Callable[[bytes], str | None] = READERS["cloudtrail"]


@pytest.mark.parametrize(("raw", "key", "fast"), [
    # the member the key names, not one of the same name deeper down or inside a string
    (b'{"requestObject":{"user":{"username":"evil"}},"user":{"username":"alice"}}', "user=alice", True),
    (b'{"note":"\\"user\\":{\\"username\\":\\"evil\\"}","user":{"username":"alice"}}', "user=alice", True),
    (b'{"user":{"groups":["a"],"extra":{"username":"evil"},"username":"alice"}}', "user=alice", True),
    (b'{"user.username":"flat","user":{"username":"alice"}}', "user=alice", True),
    # escapes in names and values, unicode
    (b'{"us\\u0065r":{"usern\\u0061me":"al\\u0069ce"}}', "user=alice", True),
    (b'{"user":{"username":"a\\"b\\\\c"}}', 'user=a"b\\c', True),
    (b'{"user":{"username":"\xc3\xa9lodie"}}', "user=\u00e9lodie", True),
    (b'{"user":{"username":"\\ud83d\\ude00"}}', "user=\U0001f600", True),
    # white space anywhere JSON allows it, a line's end
    (b' { "user" : { "username" : "alice" } , "verb" : "get" } ', "user=alice", True),
    (b'{\n  "user": {\n    "username": "alice"\n  }\n}\n', "user=alice", True),
    (b'{"user":{"username":"alice"}}\r\n', "user=alice", True),
    # a repeated member: the last one counts, as in orjson
    (b'{"user":{"username":"a"},"user":{"username":"b"}}', "user=b", True),
    (b'{"user":{"username":"a","username":"b"}}', "user=b", True),
    # no user name: the key reader goes on to the next field, or a flattened name; the fast reader leaves it
    (b'{"requestObject":{"user":{"username":"evil"}},"sourceIPs":["10.0.0.1"]}', "ip=10.0.0.1", False),
    (b'{"user":{"username":""},"sourceIPs":["10.0.0.2","10.0.0.3"]}', "ip=10.0.0.2", False),
    (b'{"user":{},"sourceIPs":"10.0.0.4"}', "ip=10.0.0.4", False),
    (b'{"user":null,"user.username":"flat"}', "user=flat", False),
    (b'{"user":{"username":["x","y"]}}', "user=x", False),
    (b'{"user":{"username":true}}', "user=true", False),
    (b'{"user":{"username":5}}', "user=5", False),
    (b'{"user":{"username":123456789012345678901234567890}}', "user=123456789012345677877719597056", False),
    (b'{"user":[{"username":"alice"}]}', "user=alice", False),
    (b'{"user":{"username":"a"},"user":{"uid":"u"},"sourceIPs":["10.0.0.5"]}', "ip=10.0.0.5", False),
    (b'{"verb":"get"}', "-", False),
])
def test_a_hand_made_line_gets_the_full_paths_key_fast_where_its_user_name_is_a_plain_string(
        raw: bytes, key: str, fast: bool) -> None:
    assert full_key("k8s-audit", raw) == key
    assert K8S(raw) == (key if fast else None)


@pytest.mark.parametrize("raw", [
    b'{"user":{"username":"alice"},"verb":"get"',  # truncated
    b'{"user":{"username":"alice"},"verb":tru}',  # garbled after the key
    b'{"user":{"username":"alice"},"verb":"get"}}',
    b'{"user":{"username":"alice"},"x":"\xff"}',  # not UTF-8 after the key
    b'{"user":{"username":"alice"},"x":"\xed\xa0\x80"}',  # an encoded surrogate
    b'{"user":{"username":"alice"},"x":"\\ud800"}',  # a lone surrogate escape
    b'{"user":{"username":"alice"},"x":"a\tb"}',  # a raw control character
    b'{"user":{"username":"alice"},"x":01}',
    b'{"user":{"username":"alice"},"x":NaN}',
    b'{"user":{"username":"alice"},}',
    b'\xef\xbb\xbf{"user":{"username":"alice"}}',
    b'[{"user":{"username":"alice"}}]', b'"user"', b"5", b"null", b"", b"   ",
    # batches and envelopes are the engine's to expand
    b'{"user":{"username":"alice"},"items":[]}',
    b'{"Records":[{"userIdentity":{"arn":"x"}}]}',
    b'{"data":{"protoPayload":{}},"user":{"username":"alice"}}',
    b'{"user":"alice"}',  # a member of another type
    b'{"user":{"username":"alice"},"x":' + b"[" * 1020 + b"]" * 1020 + b"}",  # deeper than msgspec goes
])
def test_a_line_the_fast_reader_cannot_vouch_for_is_declined(raw: bytes) -> None:
    assert K8S(raw) is None


def test_a_number_beyond_a_double_is_the_one_thing_keyed_fast_that_the_full_path_refuses() -> None:
    raw = b'{"user":{"username":"alice"},"x":1e999}'
    assert K8S(raw) == "user=alice"
    assert full_key("k8s-audit", raw) is None  # the worker parks it (tests/serve/bus/test_faults.py)


@pytest.mark.parametrize(("raw", "key", "fast"), [
    (b'{"userIdentity":{"type":"IAMUser","principalId":"P","arn":"arn:aws:iam::1:user/a"}}',
     "principal=arn:aws:iam::1:user/a", True),
    (b'{"requestParameters":{"userIdentity":{"arn":"evil"}},"userIdentity":{"arn":"good"}}', "principal=good", True),
    (b'{"userIdentity":{"type":"AWSService","invokedBy":"ec2.amazonaws.com"},"sourceIPAddress":"ec2"}', "ip=ec2",
     False),
    (b'{"userIdentity":{"principalId":"AIDA1","arn":""}}', "principal=AIDA1", False),
])
def test_a_cloudtrail_line_gets_the_full_paths_key_fast_where_it_has_an_arn(raw: bytes, key: str, fast: bool) -> None:
    assert full_key("cloudtrail", raw) == key
    assert CLOUDTRAIL(raw) == (key if fast else None)


# ---------------------------------------------------------------- generated lines
NAMES = ["user", "username", "user.username", "sourceIPs", "userIdentity", "arn", "principalId",
         "sourceIPAddress", "Records", "items", "data", "src_ip", "host", "x"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**30, 10**30),
                    st.floats(allow_nan=False, allow_infinity=False),
                    st.sampled_from(["", "alice", "10.0.0.1", "\u00e9", "\\", '"', "\x00", "\U0001f600"]),
                    st.text(max_size=8))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                      st.dictionaries(st.sampled_from(NAMES), inner, max_size=4)),
                      max_leaves=12)
events = st.dictionaries(st.sampled_from(NAMES), values, max_size=6)
# half of them with a first key field in place (Kubernetes' user.username, CloudTrail's userIdentity.arn),
# so that the fast path keys many, not only declines: random names rarely nest so
names = st.one_of(st.text(min_size=1, max_size=12), scalars)
small = st.dictionaries(st.sampled_from(NAMES[5:]), values, max_size=4)
keyed = st.one_of(events,
                  st.builds(lambda e, v: {**e, "user": {"username": v}}, small, names),
                  st.builds(lambda e, v: {"userIdentity": {"type": "IAMUser", "arn": v}, **e}, small, names))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(keyed, st.sampled_from([0, 1, 2]))
def test_a_generated_event_is_declined_or_keyed_as_the_full_path_keys_it(event: dict[str, Any], form: int) -> None:
    # the standard library writes what orjson cannot (integers past 64 bits) and escapes on request
    raw = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
    if form == 1:  # indented and every non-ASCII character escaped
        raw = json.dumps(event, indent=1).encode()
    elif form == 2 and event:  # the first member repeated with another value: the last counts
        name = next(iter(event))
        raw = raw[:-1] + b"," + json.dumps({name: "again"}).encode()[1:]
    check(raw)


def test_the_fast_path_keys_the_usual_events_of_a_generated_mix_not_only_declines_them() -> None:
    """The property test above holds whatever the fast path declines; this one holds that it keys:
    every event whose first key field is a plain non-empty string, written compactly, as the full path
    keys it (and the rest declined or keyed the same)."""
    names: list[Any] = ["alice", "system:serviceaccount:kube-system:x", "\u00e9t\u00e9", "a\\b", 'q"q', "",
                        7, None, True, ["a"], {"b": 1}]
    extras: list[dict[str, Any]] = [{}, {"verb": "get"}, {"user": {"groups": ["g"]}, "verb": "list"},
                                    {"requestURI": "/api?a=1&b=2", "x": [1, {"y": None}]}]
    plain = keyed = 0
    for name in names:
        for extra in extras:
            for event in ({**extra, "user": {"username": name}},
                          {**extra, "userIdentity": {"type": "IAMUser", "arn": name}}):
                got = check(json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode())
                usual = isinstance(name, str) and name != ""
                plain += usual
                keyed += usual and any(k is not None for k in got.values())
                check(json.dumps(event, indent=1).encode())
    assert plain == 40 and keyed == plain


def test_the_reader_hands_every_line_as_read_with_the_full_paths_key(tmp_path: Path) -> None:
    lines = [orjson.dumps({"kind": "Event", "auditID": str(i), "verb": "get", "user": {"username": f"u{i % 3}"},
                           "sourceIPs": [f"10.0.0.{i}"]}) for i in range(50)]
    lines[7] = orjson.dumps({"kind": "Event", "auditID": "7", "verb": "get", "sourceIPs": ["10.9.9.9"]})  # no user
    lines[9] = b'{"kind":"Event","auditID":"9","verb":"get","user":{"username":"u9"},"x":"\xff"}'  # not UTF-8
    lines[11] = b'{"kind": "Event", "auditID": "11", "verb": "get", "user": {"username": "spaced"}}'
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b"\n".join(lines))  # the last line without its newline
    runs: list[tuple[str, str, list[int], list[str], list[bytes]]] = []
    reader = EventReader()
    reader.read(str(path), lambda *run: runs.append(run), every=16)
    assert {(r[0], r[1]) for r in runs} == {("k8s-audit", str(path))}
    got = [(n, k, raw) for r in runs for n, k, raw in zip(r[2], r[3], r[4], strict=True)]
    key = _key_reader(SOURCES["k8s-audit"].key_fields)
    want = [(i + 1, key(orjson.loads(x)), x + b"\n") for i, x in enumerate(lines) if i != 9]
    assert got == want
    assert [(p.line, p.message.split(":")[0]) for p in reader.problems] == [(10, "malformed JSON")]
