from __future__ import annotations

import json
from pathlib import Path

from cnsec.detect.engine import Engine, Match
from cnsec.detect.rules import bundled, load_paths
from cnsec.detect.sources import expand_inputs, open_binary


def _run(rules, files: list[str], prefilter: bool) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    engine = Engine(rules, prefilter=prefilter)
    hits: list[Match] = []
    for f in files:
        with open_binary(f) as s:
            engine.scan_stream(s, f, None, hits.append)
    return sorted((h.rule.id, h.origin) for h in hits)


def test_prefilter_and_index_give_the_same_hits_as_full_evaluation(detect_corpus: Path) -> None:
    rules = bundled().rules + load_paths([detect_corpus / "sigma-rules"]).rules
    logs = detect_corpus / "logs"
    files = [f for f in expand_inputs([str(logs / "falco-k8s-audit-traces"), str(logs / "otrf-security-datasets"),
                                       str(logs / "falco-plugin-cloudtrail-traces")])
             if f.endswith(".json") and not Path(f).name.startswith("_")]
    fast = _run(rules, files, prefilter=True)
    assert fast == _run(rules, files, prefilter=False)
    assert len(fast) > 40
    brute = []
    for f in files:  # brute force: every rule on every event, no index at all
        import orjson

        from cnsec.detect.sources import expand, iter_chunks, sniff_source
        with open_binary(f) as s:
            for chunk in iter_chunks(s):
                if not chunk.raw.strip():
                    continue
                obj = orjson.loads(chunk.raw)
                events = expand(obj)
                src = sniff_source(obj if isinstance(obj, dict) and "Records" in obj else events[0])
                for d in events:
                    brute += [(r.id, f"{f}:{chunk.line}") for r in rules if r.source == src and r.match(d)]
    assert fast == sorted(brute)


def _escaped_json(value: object) -> str:
    """``value`` as JSON whose strings spell every ``o`` and ``i`` as a ``\\u`` escape (letters that no
    other escape of the JSON encoder writes): the same event to a parser, other bytes to a search."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("o", "\\u006f").replace("i", "\\u0069")
    if isinstance(value, dict):
        return "{" + ",".join(f"{_escaped_json(k)}:{_escaped_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_escaped_json(v) for v in value) + "]"
    return json.dumps(value)


def test_events_whose_values_are_spelled_with_unicode_escapes_meet_the_same_rules(
        detect_corpus: Path, tmp_path: Path) -> None:
    """A literal searched in the raw line (the prefilter, a substring rule's) is not there when the
    writer escaped its letters: such a line is judged on its parsed event, never skipped for it."""
    rules = bundled().rules + load_paths([detect_corpus / "sigma-rules"]).rules
    logs = detect_corpus / "logs"
    plain = [f for f in expand_inputs([str(logs / "falco-k8s-audit-traces"), str(logs / "otrf-security-datasets")])
             if f.endswith(".json") and not Path(f).name.startswith("_")]
    escaped = []
    for i, f in enumerate(plain):
        lines = [line for line in Path(f).read_text().splitlines() if line.strip()]
        out = tmp_path / f"{i}.json"
        out.write_text("".join(_escaped_json(json.loads(line)) + "\n" for line in lines))
        escaped.append(str(out))

    def by_line(hits: list[tuple[str, str]], names: list[str]) -> list[tuple[str, int, str]]:
        where = {name: k for k, name in enumerate(names)}
        return sorted((rule, where[origin.rsplit(":", 1)[0]], origin.rsplit(":", 1)[1]) for rule, origin in hits)

    want = by_line(_run(rules, plain, prefilter=False), plain)
    assert len(want) > 40
    assert b"\\u006f" in Path(escaped[0]).read_bytes()
    assert by_line(_run(rules, escaped, prefilter=False), escaped) == want
    assert by_line(_run(rules, escaped, prefilter=True), escaped) == want


def test_lines_without_any_rule_literal_are_not_parsed(tmp_path: Path) -> None:
    f = tmp_path / "audit.log"
    event = {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": "1", "verb": "watch",
             "user": {"username": "system:kube-scheduler"}, "objectRef": {"resource": "leases"}}
    f.write_text("\n".join(json.dumps(event) for _ in range(50)) + "\n")
    engine = Engine(bundled().rules)
    with open_binary(str(f)) as s:
        engine.scan_stream(s, str(f), None, lambda m: None)
    assert engine.stats.events == 50
    assert engine.stats.skipped == 49  # the first line is parsed to detect the source


def test_each_event_is_tested_only_against_candidate_rules() -> None:
    engine = Engine(bundled().rules)
    idx = engine.index("cloudtrail")
    candidates = idx.candidates({"eventName": "StopLogging", "eventSource": "cloudtrail.amazonaws.com"}, None)
    assert 0 < len(candidates) < len(idx.rules) // 2
    assert "CNSEC-DET-AWS-002" in {idx.rules[i].id for i in candidates}


def test_prefilter_works_with_re2_when_hyperscan_is_absent(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import sys

    from cnsec.detect.engine import LiteralScanner

    monkeypatch.setitem(sys.modules, "hyperscan", None)
    scanner = LiteralScanner(['"stoplogging"', ":assumed-role"])
    assert scanner.engine == "re2"
    assert scanner.search(b'{"eventName":"StopLogging"}') is not None
    assert scanner.search(b'{"eventName":"StartLogging"}') is None


def test_prefilter_is_case_insensitive_on_raw_lines() -> None:
    from cnsec.detect.engine import LiteralScanner

    scanner = LiteralScanner(['"stoplogging"'])
    assert scanner.search(b'{"eventName":"STOPLOGGING"}') is not None


def _indexed_rules() -> list:  # type: ignore[type-arg]
    from .helpers import sigma_rule

    rules = []
    for n, detection in enumerate((
        {"sel": {"eventName": ["PutBucketPolicy", "DeleteBucketPolicy"], "eventSource": "s3.amazonaws.com"},
         "condition": "sel"},
        {"sel": {"eventName": "DeleteBucketPolicy", "userIdentity.type": "Root"}, "condition": "sel"},
        {"sel": {"eventName": "PutBucketPolicy", "requestParameters.bucketName|startswith": "logs"},
         "condition": "sel"},
    )):
        rule = sigma_rule(detection)
        rule.id = f"rule-{n}"
        rules.append(rule)
    return rules


def test_an_event_matching_a_rule_through_several_values_of_a_list_field_is_one_hit() -> None:
    engine = Engine(_indexed_rules())
    event = {"eventName": ["PutBucketPolicy", "DeleteBucketPolicy"], "eventSource": "s3.amazonaws.com",
             "userIdentity": {"type": "Root"}, "requestParameters": {"bucketName": "logs-1"}}
    assert [r.id for r in engine.scan_events([event], "cloudtrail")] == ["rule-0", "rule-1", "rule-2"]


def test_index_and_brute_force_agree_on_value_shapes() -> None:
    rules = _indexed_rules()
    engine = Engine(rules)
    shapes = [
        {"eventName": "PutBucketPolicy", "eventSource": "S3.AMAZONAWS.COM"},  # case-insensitive
        {"eventName": "putbucketpolicy", "eventSource": ["s3.amazonaws.com"]},
        {"eventName": "PutBucketPolicy", "requestParameters.bucketName": "logs-a"},  # a flattened key
        {"eventName": "DeleteBucketPolicy", "userIdentity": {"type": ["Root", "IAMUser"]}},
        {"eventName": "DeleteBucketPolicy", "userIdentity": None},
        {"eventName": 7, "eventSource": True},
        {"eventName": None},
        {},
    ]
    for event in shapes:
        via_index = [r.id for r in engine.scan_events([event], "cloudtrail")]
        assert via_index == [r.id for r in rules if r.match(event)], event


def test_rules_on_a_thousand_distinct_fields_index_and_match() -> None:
    from .helpers import sigma_rule

    rules = []
    for n in range(1200):  # more fields than Python's recursion limit has frames
        # long values: their literals together exceed what Hyperscan takes as one expression
        rule = sigma_rule({"sel": {f"Field{n}": f"value-{n}-of-the-field"}, "condition": "sel"})
        rule.id = f"rule-{n}"
        rules.append(rule)
    engine = Engine(rules)
    event = {"Field1100": "VALUE-1100-of-the-field"}
    assert [r.id for r in engine.scan_events([event], "cloudtrail")] == ["rule-1100"]
    prefilter = engine.index("cloudtrail").prefilter
    assert prefilter.search(b'{"Field1199":"value-1199-of-the-field"}') is not None
    assert prefilter.search(b'{"Field1199":"value-1200-of-a-field"}') is None


def test_guards_under_one_object_agree_with_brute_force_whatever_the_shape_on_the_way() -> None:
    from .helpers import sigma_rule

    rules = []
    for n, field in enumerate(("hostNetwork", "hostPID", "containers.securityContext.privileged")):
        rule = sigma_rule({"sel": {"verb": "create", "objectRef.resource": "pods",
                                   f"requestObject.spec.{field}": True}, "condition": "sel"})
        rule.id = f"rule-{n}"
        rule.source = "k8s-audit"
        rules.append(rule)
    both = sigma_rule({"sel": {"verb": "create", "objectRef.resource": "pods", "requestObject.spec.hostIPC": True,
                               "requestObject.spec.volumes.hostPath.path": "/"}, "condition": "sel"})
    both.id = "rule-3"  # two guards of its own
    both.source = "k8s-audit"
    rules.append(both)
    pod = {"verb": "create", "objectRef": {"resource": "pods"}}
    shapes = [
        {**pod, "requestObject": {"spec": {"hostPID": True,
                                           "containers": [{"securityContext": {"privileged": True}}]}}},
        {**pod, "requestObject": {"spec": {"hostNetwork": "TRUE"}}},
        {**pod, "requestObject": [{"spec": {"hostNetwork": True}}]},  # a list on the way to the object
        {**pod, "requestObject": {"spec.hostPID": True}},  # a flattened key on the way
        {**pod, "requestObject.spec.hostNetwork": True},
        {**pod, "requestObject": {"spec": None}},
        {**pod, "requestObject": {"spec": {"hostNetwork": False, "hostPID": None}}},
        {**pod, "requestObject": {"spec": {"hostIPC": True, "volumes": [{"hostPath": {"path": "/"}}]}}},
        {**pod, "requestObject": {"spec": {"hostIPC": True, "volumes": [{"hostPath": {"path": "/etc"}}]}}},
        pod,
    ]
    for some in (rules[:3], rules):  # one guard per rule, then a rule with two
        engine = Engine(some)
        for event in shapes:
            via_index = [r.id for r in engine.scan_events([event], "k8s-audit")]
            assert via_index == [r.id for r in some if r.match(event)], event
    assert [r.id for r in engine.scan_events(shapes[:1], "k8s-audit")] == ["rule-1", "rule-2"]
    assert [r.id for r in engine.scan_events(shapes[7:9], "k8s-audit")] == ["rule-3"]


def test_splits_on_numbers_and_absent_objects_agree_with_brute_force() -> None:
    from .helpers import sigma_rule

    rules = []
    for n, detection in enumerate((
        {"sel": {"responseStatus.code": [403, "0401"]}, "condition": "sel"},
        {"sel": {"responseStatus.code": 403, "user.username": "alice"}, "condition": "sel"},
        {"sel": {"user.username": ["alice", "-7"]}, "condition": "sel"},
        {"sel": {"responseStatus.code": 401.0}, "condition": "sel"},
        {"sel": {"responseStatus.code": 100000000000000000000}, "condition": "sel"},
    )):
        rule = sigma_rule(detection)
        rule.id = f"rule-{n}"
        rules.append(rule)
    engine = Engine(rules)
    shapes = [
        {"responseStatus": {"code": 403}, "user": {"username": "alice"}},
        {"responseStatus": {"code": 401}, "user": {"username": -7}},
        {"responseStatus": {"code": "0401"}, "user": None},
        {"responseStatus": {"code": 403.0}, "user": {"username": ["bob", "Alice"]}},
        {"responseStatus": {"code": True}},
        {"responseStatus.code": 403, "user.username": "alice"},  # flattened keys, no parent object
        {"responseStatus": None, "responseStatus.code": "403", "user": None, "user.username": "ALICE"},
        {"responseStatus": [{"code": 403}], "user": "alice"},
        {"responseStatus": {"code": "401.0"}},  # a number written another way is not that number
        {"responseStatus": {"code": 401}},
        {"responseStatus": {"code": "401"}},
        {"responseStatus": {"code": 1e20}},
        {"responseStatus": {"code": "1e20"}},
        {},
    ]
    for event in shapes:
        via_index = [r.id for r in engine.scan_events([event], "cloudtrail")]
        assert via_index == [r.id for r in rules if r.match(event)], event
    assert [r.id for r in engine.scan_events(shapes[5:6], "cloudtrail")] == ["rule-0", "rule-1", "rule-2"]
    assert [r.id for r in engine.scan_events(shapes[9:13], "cloudtrail")] == ["rule-3", "rule-3", "rule-4"]


def test_index_reads_of_a_field_equal_the_rules_own_reads_on_any_shape() -> None:
    """The index reads fields its own way (inline, lists fanned out without building them); what
    it reads must be what a rule's own getter sees, lower-cased, whatever the event's shape."""
    import random

    from cnsec.detect.engine import value_fetcher
    from cnsec.detect.fields import as_text, make_getter

    rnd = random.Random(7)
    keys = ["a", "b", "c", "a.b", "b.c"]

    def value(depth: int) -> object:
        r = rnd.random()
        if depth > 3 or r < 0.3:
            return rnd.choice(["X", "y", True, False, None, 1, 2.0, 2.5, "", [], {}])
        if r < 0.6:
            return {rnd.choice(keys): value(depth + 1) for _ in range(rnd.randint(0, 3))}
        return [value(depth + 1) for _ in range(rnd.randint(0, 3))]

    paths = ["a", "a.b", "a.b.c", "a.b.c.a", "b.c.a"]
    readers = {p: (value_fetcher(p), make_getter(p)) for p in paths}
    checked = 0
    for _ in range(20_000):
        event = value(0)
        if not isinstance(event, dict):
            continue
        for path, (fetch, get) in readers.items():
            got = fetch(event)
            texts = {got} if isinstance(got, str) else set(got)
            expected = {t.lower() for t in (as_text(x) for x in get(event)) if t is not None}
            assert texts == expected, (path, event)
            checked += 1
    assert checked > 30_000


def test_a_getter_returns_every_value_in_order_as_walking_key_by_key_does() -> None:
    import random

    from cnsec.detect.fields import _walk, make_getter

    rnd = random.Random(11)

    def value(depth: int) -> object:
        r = rnd.random()
        if depth > 4 or r < 0.3:
            return rnd.choice(["x", 1, True, None, [], {}])
        if r < 0.6:
            return {rnd.choice("abc"): value(depth + 1) for _ in range(rnd.randint(0, 3))}
        return [value(depth + 1) for _ in range(rnd.randint(0, 3))]

    paths = ["a.b.c", "a.a.a", "b.c.a.b", "c.c.c.c.c"]
    getters = {p: make_getter(p) for p in paths}
    lists_crossed = 0
    for _ in range(20_000):
        event = value(0)
        if not isinstance(event, dict):
            continue
        for path, get in getters.items():
            expected: list[object] = [event]
            for key in path.split("."):
                expected = _walk(expected, key)
            got = get(event)
            assert got == expected, (path, event)
            lists_crossed += len(got) > 1
    assert lists_crossed > 20


def test_limit_depth_keeps_keys_and_order_and_cuts_only_below_the_limit() -> None:
    from cnsec.detect.fields import CUT, limit_depth

    shallow = {"b": [1, {"c": None}], "a": {"x": [[]]}}
    assert limit_depth(shallow) == shallow and list(limit_depth(shallow)) == ["b", "a"]
    assert limit_depth({"a": {"b": {"c": 1}}, "d": [2]}, 2) == {"a": {"b": CUT}, "d": [2]}
    deep: object = "leaf"
    for _ in range(5000):
        deep = [deep]
    cut = limit_depth({"x": deep}, 10)
    for _ in range(9):
        cut = cut["x"] if isinstance(cut, dict) else cut[0]
    assert cut == [CUT]


def test_fields_under_arrays_nested_past_the_recursion_limit_are_read() -> None:
    from cnsec.detect.engine import value_fetcher
    from cnsec.detect.fields import exists, make_getter

    nested: object = [{"b": {"c": "Found"}}]
    for _ in range(3000):
        nested = [nested]
    event = {"a": nested}
    assert make_getter("a.b.c")(event) == ["Found"]
    assert make_getter("a.b")(event) == [{"c": "Found"}]
    assert value_fetcher("a.b.c")(event) == {"found"}
    assert exists(event, "a.b.c")


def test_a_field_that_must_hold_any_value_is_checked_by_the_index_as_the_rule_checks_it() -> None:
    """``field: '*'`` is an index guard ("some text there"), beside exact values on other fields and
    inside an OR with them; the index's answer equals each rule's own match on every shape."""
    from .helpers import sigma_rule

    details = [
        {"sel": {"verb": "create", "objectRef.resource": "pods", "requestObject.spec.volumes.hostPath.path": "*"},
         "condition": "sel"},
        {"sel": {"verb": "create", "requestObject.spec.containers.securityContext.capabilities.add": "*"},
         "condition": "sel"},
        {"a": {"verb": "create", "user.username": "*"}, "b": {"verb": "create", "user.groups": "admins"},
         "condition": "a or b"},
        {"sel": {"user.username": "*"}, "not_anon": {"user.username": "system:anonymous"},
         "condition": "sel and not not_anon"},
    ]
    rules = []
    for n, detection in enumerate(details):
        rule = sigma_rule(detection)
        rule.id = f"rule-{n}"
        rule.source = "k8s-audit"
        rules.append(rule)
    engine = Engine(rules)
    pod = {"verb": "create", "objectRef": {"resource": "pods"}}
    shapes = [
        {**pod, "requestObject": {"spec": {"volumes": [{"hostPath": {"path": "/var"}}, {"emptyDir": {}}]}}},
        {**pod, "requestObject": {"spec": {"volumes": [{"emptyDir": {}}]}}},
        {**pod, "requestObject": {"spec": {"volumes": [{"hostPath": {"path": ""}}]}}},  # empty text is text
        {**pod, "requestObject": {"spec": {"volumes": [{"hostPath": {"path": None}}]}}},
        {**pod, "requestObject": {"spec": {"volumes": [{"hostPath": {"path": ["/a", "/b"]}}]}}},
        {**pod, "requestObject": {"spec": {"volumes": [{"hostPath": {"path": {"nested": 1}}}]}}},
        {**pod, "requestObject": {"spec": {"containers": [{"securityContext": {"capabilities": {"add": []}}}]}}},
        {**pod, "requestObject": {"spec": {"containers": [{"securityContext": {"capabilities": {"add": [0]}}}]}}},
        {**pod, "requestObject": {"spec": {"containers": [{"securityContext": {"capabilities": {"add": True}}}]}}},
        {"verb": "create", "user": {"username": "alice", "groups": ["admins"]}},
        {"verb": "create", "user": {"groups": ["admins"]}},
        {"verb": "get", "user": {"username": 7}},
        {"verb": "get", "user": {"username": "system:anonymous"}},
        {"verb": "get", "user.username": "flat"},
        {**pod, "requestObject.spec.volumes": [{"hostPath": {"path": "/x"}}]},
        pod,
    ]
    hits = 0
    for event in shapes:
        via_index = [r.id for r in engine.scan_events([event], "k8s-audit")]
        assert via_index == [r.id for r in rules if r.match(event)], event
        hits += len(via_index)
    assert hits >= 10


def test_a_split_finds_branches_by_text_as_the_event_writes_it_and_forgets_past_its_bound() -> None:
    from cnsec.detect.engine import compiler as engine

    def pods(d: dict, found: list) -> None:  # type: ignore[type-arg]
        found.append(1)

    branches = engine._Branches({"pods": pods})
    assert branches["pods"] is pods and branches["PODS"] is pods and branches["Pods"] is pods
    assert branches["secrets"] is None
    for i in range(engine.BRANCH_MEMO * 2):
        assert branches[f"Name-{i}"] is None
    assert len(branches) <= engine.BRANCH_MEMO and branches["POdS"] is pods
