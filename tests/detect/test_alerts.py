from __future__ import annotations

from cnsec.detect.alerts import AlertBook, alert_dict
from cnsec.detect.engine import Match
from cnsec.detect.rules import bundled


def _match(ts: str, user: str = "alice") -> Match:
    rule = next(r for r in bundled().rules if r.id == "CNSEC-DET-K8S-009")
    data = {"verb": "create", "user": {"username": user}, "objectRef": {"resource": "pods", "subresource": "exec"},
            "stageTimestamp": ts}
    return Match(rule, data, "audit.log:1", "k8s-audit")


def test_repeats_within_the_window_fold_into_one_alert_with_count() -> None:
    book = AlertBook(window=60, max_evidence=2)
    for s in range(0, 50, 10):
        book.add(_match(f"2026-01-05T10:00:{s:02d}Z"))
    (alert,) = book.alerts()
    assert alert.count == 5 and len(alert.evidence) == 2
    assert alert_dict(alert)["evidence_omitted"] == 3
    assert alert.last_seen - alert.first_seen == 40


def test_hit_after_the_window_opens_a_new_alert() -> None:
    book = AlertBook(window=60)
    book.add(_match("2026-01-05T10:00:00Z"))
    book.add(_match("2026-01-05T10:05:00Z"))
    assert [a.count for a in book.alerts()] == [1, 1]


def test_different_keys_are_separate_alerts() -> None:
    book = AlertBook(window=60)
    book.add(_match("2026-01-05T10:00:00Z", "alice"))
    book.add(_match("2026-01-05T10:00:01Z", "bob"))
    assert sorted(a.key for a in book.alerts()) == ["user=alice", "user=bob"]


def test_jsonl_shape_has_the_fields_respond_reads() -> None:
    book = AlertBook()
    book.add(_match("2026-01-05T10:00:00Z"))
    d = alert_dict(book.alerts()[0])
    for field in ("rule_id", "title", "severity", "threat_id", "key", "first_seen", "last_seen", "evidence"):
        assert field in d
    assert d["severity"] == "medium" and d["threat_id"] == "exec-in-container"
    assert d["first_seen"] == "2026-01-05T10:00:00Z"
    assert d["evidence"][0]["origin"] == "audit.log:1"


def test_closed_alerts_are_handed_over_and_not_kept() -> None:
    book = AlertBook(window=60)
    for minute in range(10):
        book.add(_match(f"2026-01-05T10:{minute * 5:02d}:00Z"))
    book.close_expired(book.last_time)
    handed = book.take_closed()
    assert len(handed) == 9 and len(book.open) == 1
    assert book.take_closed() == []
    assert sum(a.count for a in handed + book.alerts()) == 10


def test_event_without_time_is_dated_now_not_1970() -> None:
    import time

    rule = next(r for r in bundled().rules if r.id == "CNSEC-DET-K8S-009")
    data = {"verb": "create", "user": {"username": "alice"}, "objectRef": {"resource": "pods", "subresource": "exec"}}
    book = AlertBook()
    book.add(Match(rule, data, "audit.log:1", "k8s-audit"))
    assert abs(book.alerts()[0].first_seen - time.time()) < 60


def test_jsonl_alert_is_the_model_alert_plus_evidence_omitted() -> None:
    book = AlertBook(window=60, max_evidence=1)
    for ts, user in (("2026-01-05T10:00:00.250Z", "alice"), ("2026-01-05T10:00:30Z", "alice"),
                     ("2026-01-05T10:07:00.000001Z", "bob")):
        book.add(_match(ts, user))
    for alert in book.alerts():
        d = alert_dict(alert)
        model = alert.to_dict()
        assert list(d) == [*model, "evidence_omitted"]
        assert d == {**model, "evidence_omitted": alert.count - 1}


def test_every_calls_back_right_after_the_hit_that_completes_the_count() -> None:
    book = AlertBook()
    seen: list[int] = []
    book.every(3, lambda: seen.append(book.hits))
    rule = _match("2026-01-05T10:00:00Z").rule
    data = _match("2026-01-05T10:00:00Z").data
    book.add_event([rule, rule], data, "audit.log", 1, "k8s-audit")
    book.add_event([rule, rule, rule, rule], data, "audit.log", 2, "k8s-audit")
    assert seen == [3, 6]
    assert book.alerts()[0].count == 6


def test_alert_time_and_key_agree_with_the_generic_readers_on_every_shape() -> None:
    from cnsec.detect.normalize import SOURCES, event_key, event_time

    rule = next(r for r in bundled().rules if r.id == "CNSEC-DET-K8S-009")
    shapes = [
        {"stageTimestamp": "2026-01-05T10:00:00.123456Z", "user": {"username": "alice"}},
        {"stageTimestamp": "2026-01-05T10:00:00", "requestReceivedTimestamp": "2026-01-05T09:00:00+02:00",
         "user": {"username": ""}, "sourceIPs": ["10.0.0.1"]},  # no offset: the next field; empty user: the ip
        {"stageTimestamp": "not a time", "timestamp": 1767607200, "user": {"username": ["bob"]}},
        {"stageTimestamp": 1767607200000, "user": "carol", "sourceIPs": "10.0.0.2"},
        {"metadata": {"creationTimestamp": "2026-01-05T10:00:00+01:00"}, "user.username": "dave"},
    ]
    for n, data in enumerate(shapes):
        book = AlertBook(window=60)
        book.add(Match(rule, data, f"audit.log:{n}", "k8s-audit"))
        (alert,) = book.alerts()
        assert alert.first_seen == event_time(SOURCES["k8s-audit"], data), data
        assert alert.key == event_key(rule.key_fields or SOURCES["k8s-audit"].key_fields, data), data


def test_alert_times_are_written_as_the_model_writes_them_down_to_the_rounded_microsecond() -> None:
    import random

    rnd = random.Random(6)
    stamps = [0.0, -0.0, -1.5, -0.0000005, 1767225600.0000005, 1767225600.9999995, 1767225600.9999999,
              1767225601.0000015, 1767225600.123456, 253402300799.9999]
    stamps += [rnd.uniform(-2e9, 4e9) for _ in range(3000)]
    stamps += [rnd.randint(0, 4 * 10**9) + rnd.choice((0.5e-6, 1.5e-6, 2.5e-6, 0.9999995)) for _ in range(3000)]
    for ts in stamps:
        book = AlertBook(window=60)
        book.add(_match("2026-01-05T10:00:00Z"))
        (alert,) = book.alerts()
        alert.first_seen = alert.last_seen = ts
        assert alert_dict(alert)["first_seen"] == alert.to_dict()["first_seen"], ts


def test_events_read_one_after_another_get_their_own_times() -> None:
    from cnsec.detect.normalize import SOURCES, event_time

    rule = next(r for r in bundled().rules if r.id == "CNSEC-DET-K8S-009")
    stamps = ["", "2026-01-05T10:00:00Z", "2026-01-05T10:00:00Z", "2026-01-05T10:00:00", "2026-01-05T10:00:00Z",
              "2026-01-05T10:00:01+01:00", "", "2026-01-05T10:00:01+01:00"]
    book = AlertBook(window=60)
    events = []
    for n, ts in enumerate(stamps):
        data = {"stageTimestamp": ts, "requestReceivedTimestamp": "2026-01-05T09:59:00Z", "user": {"username": f"u{n}"}}
        events.append(data)
        book.add(Match(rule, data, f"audit.log:{n}", "k8s-audit"))
    by_key = {a.key: a for a in book.alerts()}
    for n, data in enumerate(events):
        assert by_key[f"user=u{n}"].first_seen == event_time(SOURCES["k8s-audit"], data), stamps[n]


def test_jsonl_writes_evidence_with_non_string_keys_as_strings() -> None:
    import orjson

    from cnsec.detect.render import jsonl_bytes, jsonl_line

    book = AlertBook()
    match = _match("2026-01-05T10:00:00Z")
    book.add(Match(match.rule, {**match.data, 7: "seven", "nested": {True: 1}}, "rules.yml:3", "k8s-audit"))
    (alert,) = book.alerts()
    line = jsonl_bytes(alert)
    assert line == orjson.dumps(alert_dict(alert), option=orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE)
    event = orjson.loads(line)["evidence"][0]["event"]
    assert event["7"] == "seven" and event["nested"] == {"true": 1}
    assert jsonl_line(alert) == line.decode()


def test_a_new_alert_carries_the_rule_and_the_hit_in_the_right_fields() -> None:
    import dataclasses

    from cnsec.model.event import Alert

    assert [f.name for f in dataclasses.fields(Alert)] == [
        "rule_id", "title", "severity", "threat_id", "key", "first_seen", "last_seen", "evidence", "count",
        "action", "attack_ids", "opened"]  # AlertBook.add_event builds alerts positionally in this order
    book = AlertBook()
    m = _match("2026-01-05T10:00:00Z", "alice")
    book.add(m)
    (alert,) = book.alerts()
    assert (alert.rule_id, alert.title, alert.severity, alert.threat_id) == (
        m.rule.id, m.rule.title, m.rule.severity, m.rule.threat_id)
    assert (alert.key, alert.count, alert.action, alert.attack_ids) == ("user=alice", 1, m.rule.action,
                                                                         m.rule.attack_ids)
    assert alert.first_seen == alert.last_seen == m.time() and len(alert.evidence) == 1
