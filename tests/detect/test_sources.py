from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest

from cnsec.detect import sources
from cnsec.detect.engine import Engine, Match
from cnsec.detect.normalize import parse_time
from cnsec.detect.rules import bundled
from cnsec.detect.sources import iter_chunks, open_binary

K8S_EVENT = {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": "1", "verb": "create",
             "user": {"username": "alice"}, "objectRef": {"resource": "pods", "subresource": "exec",
                                                          "namespace": "default", "name": "web"},
             "responseStatus": {"code": 101}, "stageTimestamp": "2026-01-05T10:00:00.123456789Z"}
CT_EVENT = {"eventVersion": "1.08", "eventTime": "2026-01-05T10:00:00Z", "eventSource": "cloudtrail.amazonaws.com",
            "eventName": "StopLogging", "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::1:user/eve"},
            "sourceIPAddress": "203.0.113.9"}


def scan(path: Path, source: str | None = None) -> tuple[Engine, list[Match], str | None]:
    engine = Engine(bundled().rules)
    hits: list[Match] = []
    with open_binary(str(path)) as stream:
        src = engine.scan_stream(stream, str(path), source, hits.append)
    return engine, hits, src


def test_k8s_json_lines_detected_and_matched(tmp_path: Path) -> None:
    f = tmp_path / "audit.log"
    f.write_text(json.dumps(K8S_EVENT) + "\n")
    _, hits, src = scan(f)
    assert src == "k8s-audit"
    assert [h.rule.id for h in hits] == ["CNSEC-DET-K8S-009"]


def test_k8s_eventlist_is_expanded(tmp_path: Path) -> None:
    f = tmp_path / "list.json"
    f.write_text(json.dumps({"kind": "EventList", "apiVersion": "audit.k8s.io/v1",
                             "items": [K8S_EVENT, K8S_EVENT]}, indent=2))
    engine, hits, src = scan(f)
    assert src == "k8s-audit" and len(hits) == 2 and engine.stats.events == 2


def test_cloudtrail_records_file_gzipped(tmp_path: Path) -> None:
    f = tmp_path / "ct.json.gz"
    records = {"Records": [CT_EVENT, dict(CT_EVENT, eventName="ListUsers")]}
    f.write_bytes(gzip.compress(json.dumps(records).encode()))
    engine, hits, src = scan(f)
    assert src == "cloudtrail"
    assert [h.rule.id for h in hits] == ["CNSEC-DET-AWS-002"]
    assert engine.stats.events == 2


def test_closing_a_gzip_input_closes_its_file(tmp_path: Path) -> None:
    f = tmp_path / "ct.jsonl.gz"
    f.write_bytes(gzip.compress(b'{"a": 1}\n{"a": 2}\n'))
    with open_binary(str(f)) as stream:
        assert list(stream) == [b'{"a": 1}\n', b'{"a": 2}\n']
        inner = stream.raw.compressed.inner  # type: ignore[attr-defined]
    assert inner.closed


def test_a_truncated_gzip_input_is_reported_and_the_events_before_the_cut_are_kept(tmp_path: Path) -> None:
    whole = gzip.compress("".join(json.dumps(dict(K8S_EVENT, auditID=str(i))) + "\n"
                                  for i in range(3000)).encode())
    # random-ish audit IDs would compress less; cut the stream where the last tenth starts
    f = tmp_path / "audit.log.gz"
    f.write_bytes(whole[: len(whole) * 9 // 10])
    engine, hits, _ = scan(f)
    assert 0 < engine.stats.events < 3000 and len(hits) == engine.stats.events
    assert [(p.line, p.message.split(":")[0]) for p in engine.stats.problems] == [(None, "cannot read further")]


def test_a_corrupt_gzip_input_is_reported_not_raised(tmp_path: Path) -> None:
    f = tmp_path / "audit.log.gz"
    f.write_bytes(b"\x1f\x8b\x08\x00" + b"not deflate data at all" * 10)
    engine, hits, _ = scan(f)
    assert not hits and engine.stats.problems[0].message.startswith("cannot read")


def test_cloudtrail_one_record_per_line(tmp_path: Path) -> None:
    f = tmp_path / "ct.jsonl"
    names = ("StopLogging", "ListUsers", "DeleteTrail")
    f.write_text("\n".join(json.dumps(dict(CT_EVENT, eventName=n)) for n in names))
    _, hits, _ = scan(f)
    assert [h.rule.id for h in hits] == ["CNSEC-DET-AWS-002", "CNSEC-DET-AWS-002"]


def test_gcp_audit_entry_detected(tmp_path: Path) -> None:
    f = tmp_path / "gcp.jsonl"
    entry = {"protoPayload": {"methodName": "google.iam.admin.v1.CreateServiceAccountKey",
                              "authenticationInfo": {"principalEmail": "eve@example.com"}},
             "timestamp": "2026-01-05T10:00:00Z", "logName": "projects/p/logs/x"}
    f.write_text(json.dumps(entry) + "\n")
    _, hits, src = scan(f)
    assert src == "gcp-audit" and hits[0].key() == "principal=eve@example.com"


def test_falco_output_detected_and_priority_mapped(tmp_path: Path) -> None:
    f = tmp_path / "falco.jsonl"
    f.write_text(json.dumps({"output": "x", "priority": "Critical", "rule": "Terminal shell",
                             "time": "2026-01-05T10:00:00.000000000Z",
                             "output_fields": {"k8s.pod.name": "web-1"}}) + "\n")
    _, hits, src = scan(f)
    assert src == "falco"
    assert hits[0].rule.severity.label == "critical" and hits[0].key() == "pod=web-1"


def test_malformed_lines_are_counted_with_line_numbers(tmp_path: Path) -> None:
    f = tmp_path / "audit.log"
    good = json.dumps(K8S_EVENT)
    f.write_text(good + "\n{not json\n" + good[:-5] + "\n" + good + "\n")
    engine, hits, _ = scan(f)
    assert len(hits) == 2
    assert engine.stats.malformed == 2
    assert [p.line for p in engine.stats.problems] == [2, 3]


def test_line_numbers_count_the_blank_lines_before_the_first_event(tmp_path: Path) -> None:
    f = tmp_path / "audit.log"
    good = json.dumps(K8S_EVENT)
    f.write_text("\n  \n" + good + "\n{not json\n" + good + "\n")
    engine, hits, _ = scan(f)
    assert [h.origin for h in hits] == [f"{f}:3", f"{f}:5"]
    assert [p.line for p in engine.stats.problems] == [4]


def test_arrays_are_unwrapped_however_deep_and_one_without_events_is_reported(tmp_path: Path) -> None:
    f = tmp_path / "audit.log"
    good = json.dumps(K8S_EVENT)
    f.write_text(good + "\n" + "[" * 1000 + "]" * 1000 + "\n[[[" + good + "]], [1]]\n[]\n"
                 '[{"Records": []}]\n')  # empty batches: no events, nothing malformed
    engine, hits, _ = scan(f, "k8s-audit")
    assert [h.origin for h in hits] == [f"{f}:1", f"{f}:3"]
    assert [(p.line, p.message) for p in engine.stats.problems] == [(2, "an array without a JSON object in it")]


def test_a_damaged_first_line_costs_that_line_only(tmp_path: Path) -> None:
    f = tmp_path / "audit.log"
    good = json.dumps(K8S_EVENT)
    f.write_text(good[: len(good) // 2] + "\n" + good + "\n" + good + "\n")
    engine, hits, _ = scan(f)
    assert [h.origin for h in hits] == [f"{f}:2", f"{f}:3"]
    assert [p.line for p in engine.stats.problems] == [1]


def test_json_lines_of_arrays_are_read_line_by_line(tmp_path: Path) -> None:
    f = tmp_path / "batches.jsonl"
    f.write_text(json.dumps([K8S_EVENT]) + "\n" + json.dumps([K8S_EVENT, K8S_EVENT]) + "\n")
    engine, hits, _ = scan(f)
    assert [h.origin for h in hits] == [f"{f}:1", f"{f}:2", f"{f}:2"] and not engine.stats.problems


def test_a_pretty_printed_array_is_still_one_document(tmp_path: Path) -> None:
    f = tmp_path / "events.json"
    f.write_text(json.dumps([K8S_EVENT, K8S_EVENT], indent=2) + "\n")
    engine, hits, _ = scan(f)
    assert len(hits) == 2 and not engine.stats.problems


def test_stdin_like_stream_is_read_as_lines() -> None:
    data = (json.dumps(K8S_EVENT) + "\n").encode() * 3
    chunks = list(iter_chunks(io.BytesIO(data)))
    assert [c.line for c in chunks] == [1, 2, 3]


def test_timestamps_with_nanoseconds_offsets_and_epochs() -> None:
    assert parse_time("2026-01-05T10:00:00.123456789Z") == parse_time("2026-01-05T10:00:00.123456Z")
    assert parse_time("2026-01-05T12:00:00+02:00") == parse_time("2026-01-05T10:00:00Z")
    assert parse_time(1767607200000) == parse_time(1767607200) == parse_time("2026-01-05T10:00:00Z")
    assert parse_time("yesterday") is None


def test_a_time_no_date_can_hold_is_no_time() -> None:
    assert parse_time(1e308) is None and parse_time(-1e20) is None and parse_time("9" * 30) is None
    assert parse_time("0001-01-01T00:00:00+01:00") is None  # a year before 1
    assert parse_time("9999-12-31T23:59:59Z") is not None and parse_time("0001-01-01T00:00:00Z") is not None
    assert parse_time("²") is None and parse_time("١٢٣") is None  # digits to isdigit, not to float


def test_an_event_with_an_absurd_time_is_alerted_on_and_written(tmp_path: Path) -> None:
    from cnsec.cli import main

    f = tmp_path / "audit.log"
    f.write_text(json.dumps(dict(K8S_EVENT, stageTimestamp=1e300)) + "\n"
                 + json.dumps(dict(K8S_EVENT, stageTimestamp="0001-01-01T00:00:00+05:00")) + "\n")
    out = tmp_path / "alerts.jsonl"
    assert main(["detect", str(f), "-f", "jsonl", "-o", str(out), "--fail-on", "none"]) == 0
    (alert,) = [json.loads(x) for x in out.read_text().splitlines()]
    assert alert["count"] == 2 and alert["first_seen"].startswith("20")  # dated now: no usable time


def test_a_gzip_bomb_is_stopped_and_reported_with_the_events_before_it_kept(tmp_path: Path) -> None:
    f = tmp_path / "audit.log.gz"
    with gzip.open(f, "wb") as out:  # one event, then 256 MiB of zeros (about 256 KB compressed)
        out.write(json.dumps(K8S_EVENT).encode() + b"\n")
        zeros = bytes(1 << 20)
        for _ in range(256):
            out.write(zeros)
    engine, hits, _ = scan(f)
    assert [h.rule.id for h in hits] == ["CNSEC-DET-K8S-009"]
    [problem] = engine.stats.problems
    assert (problem.file, problem.line) == (str(f), 2)
    assert "gzip expands more than 250 times" in problem.message


def test_a_line_past_the_length_limit_is_reported_and_the_lines_after_it_still_scanned(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "MAX_LINE", 4096)
    event = json.dumps(K8S_EVENT).encode() + b"\n"
    f = tmp_path / "audit.log"
    f.write_bytes(event + b'{"pad": "' + b"x" * 3_000_000 + b'"}\n' + event)
    engine, hits, _ = scan(f)
    assert len(hits) == 2 and engine.stats.events == 2
    assert [str(p) for p in engine.stats.problems] == [f"{f}:2: line longer than 4,096 bytes (skipped)"]


def test_a_long_line_is_never_held_whole_in_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "MAX_LINE", 4096)
    f = tmp_path / "audit.log"
    f.write_bytes(b"{" + b" " * 5_000_000 + b"}\n{}\n")
    with open_binary(str(f)) as stream:
        lines = [len(line) for line in stream]
    assert lines == [4097, 3]


def test_a_pretty_printed_document_past_the_limit_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "MAX_LINE", 4096)
    f = tmp_path / "list.json"
    f.write_text(json.dumps({"kind": "EventList", "items": [K8S_EVENT] * 200}, indent=2))
    engine, hits, _ = scan(f)
    assert not hits and "longer than 4,096 bytes" in engine.stats.problems[0].message


def test_a_followed_file_holds_a_long_line_only_up_to_the_limit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cnsec.detect.sources.follow import follow

    monkeypatch.setattr(sources, "MAX_LINE", 4096)
    f = tmp_path / "audit.log"
    f.write_bytes(b'{"a": 1}\n{"pad": "' + b"x" * 1_000_000 + b'"}\n{"a": 2}\n')
    chunks = list(follow(str(f), poll=0.01, idle_exit=0.05))
    assert [(c.line, len(c.raw)) for c in chunks] == [(1, 9), (2, 4096), (3, 9)]
