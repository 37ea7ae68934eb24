"""The detection engine as the bus sees it: the updates a processor hands out per event message."""

from __future__ import annotations

import random
from typing import Any

import orjson

from cnsec.detect.alerts import alert_dict
from cnsec.detect.bus_adapter import EngineProcessor, processor_factory
from cnsec.detect.rules import Rule
from cnsec.model.severity import Severity
from cnsec.serve.bus.status import fold_updates


def _rules() -> list[Rule]:
    """Two rules on every audit event (alerts per user) and one on deletes only."""
    return [
        Rule(id="T-ALL", title="every event", severity=Severity.LOW, source="k8s-audit", match=lambda d: True),
        Rule(id="T-ALL-2", title="every event again", severity=Severity.MEDIUM, source="k8s-audit",
             match=lambda d: True),
        Rule(id="T-DEL", title="a delete", severity=Severity.HIGH, source="k8s-audit",
             match=lambda d: d.get("verb") == "delete"),
    ]


def _event(i: int, user: str, second: int) -> bytes:
    return orjson.dumps({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "auditID": f"id-{i}",
        "stage": "ResponseComplete", "verb": "delete" if i % 7 == 0 else "get",
        "requestURI": "/api/v1/namespaces/default/pods", "user": {"username": user},
        "sourceIPs": ["10.0.0.1"], "objectRef": {"resource": "pods", "namespace": "default"},
        "stageTimestamp": f"2026-01-01T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}.000000Z"})


def _messages(n: int = 60, per: int = 25, seed: int = 7) -> list[list[tuple[int, bytes]]]:
    """``n`` event messages of ``per`` events by a few users, with time gaps that close windows and
    a few late events."""
    rnd = random.Random(seed)
    out, line, second = [], 0, 0
    for _ in range(n):
        msg = []
        for _ in range(per):
            line += 1
            second += rnd.choice((1, 1, 2, 30, 400))
            late = second - rnd.randint(0, 900) if rnd.random() < 0.05 else second
            msg.append((line, _event(line, f"user-{rnd.randint(0, 5)}", max(0, late))))
        out.append(msg)
    return out


def _fed(proc: EngineProcessor, msg: list[tuple[int, bytes]]) -> list[bytes]:
    proc.feed(msg, "k8s-audit", "audit.log")
    return [orjson.dumps(u.to_dict()) for u in proc.updates()]


def test_an_update_carries_the_evidence_only_while_the_evidence_changes() -> None:
    proc = processor_factory(_rules()[:1], max_evidence=2)()
    shapes = []
    for i in range(1, 5):
        proc.feed([(i, _event(i, "alice", i))], "k8s-audit", "audit.log")
        [u] = proc.updates()
        shapes.append((u.count, u.full, "evidence" in u.to_dict(), u.to_dict()["evidence_omitted"]))
    # new, then the second hit filled the evidence, then the evidence stays what it was
    assert shapes == [(1, True, True, 0), (2, True, True, 0), (3, False, False, 1), (4, False, False, 2)]
    proc.feed([(5, _event(5, "alice", 5)), (6, _event(6, "bob", 6))], "k8s-audit", "audit.log")
    assert [(u.alert.key, u.full) for u in proc.updates()] == [("user=alice", False), ("user=bob", True)]
    assert proc.updates() == []  # nothing new since the last call


def test_a_processor_restored_from_a_checkpoint_hands_out_the_updates_the_one_that_wrote_it_did() -> None:
    """The bus names an alerts message by the events' stream sequence, so a takeover must make the
    very messages the dead worker made: held at every possible checkpoint against going on."""
    make = processor_factory(_rules(), window=300.0, max_evidence=3)
    messages = _messages()
    going_on = make()
    expected = [_fed(going_on, m) for m in messages]
    assert sum(b'"evidence":' not in u for msg in expected for u in msg) > 20  # updates without evidence occur
    for cut in range(0, len(messages), 7):
        first = make()
        for m in messages[:cut]:
            first.feed(m, "k8s-audit", "audit.log")
            first.updates()
        taken_over = make()
        taken_over.restore(first.snapshot())
        assert [_fed(taken_over, m) for m in messages[cut:]] == expected[cut:], cut


def test_updates_folded_in_any_order_are_the_alerts_with_their_evidence() -> None:
    make = processor_factory(_rules(), window=300.0, max_evidence=3)
    proc = make()
    updates: list[dict[str, Any]] = []
    closed = []
    for m in _messages():
        proc.feed(m, "k8s-audit", "audit.log")
        got = proc.updates()
        updates += [u.to_dict() for u in got]
        closed += [u.alert for u in got]
    final = {u.id: u for u in proc.flush()}
    want = {}
    for a in closed + [u.alert for u in final.values()]:
        want[orjson.dumps(alert_dict(a), option=orjson.OPT_SORT_KEYS)] = None
    for seed in range(5):
        random.Random(seed).shuffle(updates)
        folded = fold_updates(updates)
        got = {orjson.dumps({k: v for k, v in u.items() if k != "id"}, option=orjson.OPT_SORT_KEYS)
               for u in folded.values()}
        assert got == set(want), seed


def test_a_snapshot_made_of_kept_alert_json_is_the_snapshot_made_whole() -> None:
    """The snapshot reuses each unchanged alert's JSON: held to the plain serialisation of the state
    after every message (alerts opened, grown, closed, restored)."""
    from cnsec.detect.bus_adapter import SNAPSHOT_VERSION

    def whole(proc: EngineProcessor) -> bytes:
        book = proc.book
        return orjson.dumps({
            "v": SNAPSHOT_VERSION, "last_time": book.last_time, "hits": book.hits,
            "prefilter": [[*k, *v] for k, v in proc._prefilter.items()],
            "open": [[a.rule_id, a.title, a.severity.label, a.threat_id, a.key, a.first_seen, a.last_seen,
                      a.evidence, a.count, a.action, list(a.attack_ids)] for a in book.open.values()]})

    make = processor_factory(_rules(), window=300.0, max_evidence=3)
    proc = make()
    for i, m in enumerate(_messages()):
        proc.feed(m, "k8s-audit", "audit.log")
        proc.updates()
        assert proc.snapshot() == whole(proc), i
        if i % 10 == 9:
            again = make()
            again.restore(proc.snapshot())
            proc = again
    assert len(orjson.loads(proc.snapshot())["open"]) > 5


def test_an_update_s_json_made_of_its_fixed_parts_is_its_dict_serialised() -> None:
    """The worker writes updates from cached parts: held to ``orjson.dumps(to_dict())`` for every
    update of a run (new, growing, without evidence; odd titles, keys, actions and attack ids)."""
    odd = Rule(id="T-ODD", title='ünïcode "quoted" \\ title\u2028', severity=Severity.CRITICAL,
               source="k8s-audit", match=lambda d: True, threat_id="T-THREAT", attack_ids=("T1078", "T1098.001"),
               action="deny_access", key_fields=("who=user.username",))
    make = processor_factory([*_rules(), odd], window=300.0, max_evidence=2)
    proc = make()
    seen = 0
    for i, m in enumerate(_messages()):
        if i == 20:  # and after a takeover, where ids and fixed parts are made again
            again = make()
            again.restore(proc.snapshot())
            proc = again
        proc.feed([(n, raw.replace(b'"user-', '"üser-\\u00e9'.encode())) for n, raw in m], "k8s-audit", "a.log")
        for u in proc.updates():
            assert u.to_json() == orjson.dumps(u.to_dict()), u.to_dict()
            seen += 1
    assert seen > 200


def test_an_update_whose_evidence_outgrows_the_bus_s_largest_message_keeps_the_events_that_fit_and_says_so() -> None:
    """Each event fits a message alone, but an alert's evidence holds several: its update is cut to fit
    (the first events kept), the same way each time, and the count stays true."""
    proc = processor_factory(_rules()[:1], max_evidence=5)()
    big = [(i, orjson.dumps({"kind": "Event", "auditID": f"b{i}", "verb": "create", "user": {"username": "eve"},
                             "requestObject": {"blob": "x" * 400_000},
                             "stageTimestamp": f"2026-01-01T00:00:0{i}.000000Z"})) for i in range(1, 4)]
    proc.feed(big, "k8s-audit", "big.log")
    [u] = proc.updates()
    limit = 1_000_000
    line = u.to_json(limit)
    doc = orjson.loads(line)
    assert len(line) <= limit < len(u.to_json())
    assert doc["count"] == 3 and len(doc["evidence"]) == 2 and doc["evidence_omitted"] == 1 and doc["evidence_cut"]
    assert [e["origin"] for e in doc["evidence"]] == ["big.log:1", "big.log:2"]
    assert u.to_json(limit) == line and u.to_json(10 * limit) == u.to_json() == orjson.dumps(u.to_dict())


_SECRETS_RULE = """
title: a secret deleted
id: 6f2b8f7e-1a52-4c6f-9a7e-2d0b7d4e9c11
status: test
level: high
logsource: {product: kubernetes, service: audit}
detection:
  selection: {verb: delete, objectRef.resource: pods}
  condition: selection
"""


def test_a_processor_fed_in_small_messages_switches_the_prefilter_off_where_one_run_would_and_finds_the_same_alerts(
        tmp_path: Any) -> None:
    """A one-process run stops searching lines for a rule's literals once nearly every line of an input
    holds one (after 4,096 lines); a worker is fed in messages of a few hundred events and must learn
    that across them, without it changing a single alert (held to a processor without a prefilter)."""
    from cnsec.detect.rules import load_file

    path = tmp_path / "rule.yml"
    path.write_text(_SECRETS_RULE)
    rules = load_file(path).rules
    assert rules
    events = [(i, _event(i, f"user-{i % 3}", i)) for i in range(1, 6001)]  # every one mentions pods
    pieces = [events[i:i + 100] for i in range(0, len(events), 100)]

    def alerts(proc: EngineProcessor) -> list[bytes]:
        for piece in pieces:
            proc.feed(piece, "k8s-audit", "audit.log")
            proc.updates()
        return sorted(orjson.dumps(alert_dict(u.alert), option=orjson.OPT_SORT_KEYS) for u in proc.flush())

    fed = processor_factory(rules)()
    got = alerts(fed)
    assert fed._prefilter[("k8s-audit", "audit.log")] == (4096, 4096, True)
    assert fed.engine.index("k8s-audit").prefilter is not None  # there was one to switch off
    assert got == alerts(processor_factory(rules, prefilter=False)())
    assert len(got) == 3  # one alert per user: the deletes matched
    # a worker taking the partition over reads on as this one would (the record is in the snapshot)
    again = processor_factory(rules)()
    again.restore(fed.snapshot())
    assert again._prefilter == fed._prefilter
