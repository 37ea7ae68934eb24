"""Sources: detection from content, field normalisation, malformed lines counted with line numbers."""

from __future__ import annotations

import json
from pathlib import Path

from cnsec.detect.correlate.inputs import (
    Stats,
    access_from_json,
    clf_time,
    open_file_records,
    parse_clf,
    parse_prom_line,
)


def _records(path: Path, lateness: float = 60.0) -> tuple[list[dict], Stats]:
    stats = Stats()
    recs = [item[3] for item in open_file_records(str(path), stats, None, lateness)]
    return recs, stats


def test_combined_log_line_is_parsed() -> None:
    rec = parse_clf(b'203.0.113.9 - bob [10/Oct/2000:13:55:36 -0700] "GET /a?b=%27x HTTP/1.1" 500 2326 '
                    b'"http://ref/" "curl/8" 0.250')
    assert rec is not None
    assert (rec["src_ip"], rec["user"], rec["method"], rec["status"], rec["bytes"], rec["url"]) == (
        "203.0.113.9", "bob", "GET", 500, 2326, "/a?b='x")
    assert rec["availability"] == 0.0 and rec["latency_ms"] == 250.0
    assert rec["_ts"] == clf_time("10/Oct/2000:20:55:36 +0000") == 971211336.0


def test_envoy_json_access_log_fields_are_normalised() -> None:
    rec = access_from_json({"start_time": "2026-01-01T00:00:00.000Z", "method": "POST", "path": "/login",
                            "response_code": 401, "bytes_sent": 12, "duration": 35,
                            "downstream_remote_address": "198.51.100.4:51234", "upstream_cluster": "auth"})
    assert rec is not None
    assert (rec["src_ip"], rec["status"], rec["latency_ms"], rec["service"], rec["path"]) == (
        "198.51.100.4", 401, 35.0, "auth", "/login")


def test_prometheus_exposition_snapshot_is_read_with_sample_timestamps(tmp_path: Path) -> None:
    p = tmp_path / "scrape.prom"
    p.write_text('# HELP latency_ms request latency\n# TYPE latency_ms gauge\n'
                 'latency_ms{service="web",path="/a\\"b"} 12.5 1767225600000\n'
                 'availability{service="web"} 0.97 1767225601000\n')
    recs, stats = _records(p)
    assert [(r["__name__"], r["service"], r["_ts"]) for r in recs] == [
        ("latency_ms", "web", 1767225600.0), ("availability", "web", 1767225601.0)]
    assert recs[0]["path"] == '/a"b' and recs[1]["availability"] == 97.0  # a ratio becomes percent
    assert stats.malformed == 0


def test_prometheus_sample_without_timestamp_takes_the_snapshot_time(tmp_path: Path) -> None:
    import os

    smp = parse_prom_line('up{job="api"} 1')
    assert smp is not None and smp.ts != smp.ts  # no timestamp in the line
    p = tmp_path / "scrape.prom"
    p.write_text('up{job="api"} 1\n')
    os.utime(p, (1234.0, 1234.0))
    recs, _ = _records(p)
    assert [(r["up"], r["_ts"]) for r in recs] == [(1.0, 1234.0)]


def test_metric_json_lines_and_prometheus_query_results_are_read(tmp_path: Path) -> None:
    p = tmp_path / "m.jsonl"
    p.write_text(json.dumps({"timestamp": 1767225600, "name": "latency_ms", "labels": {"service": "a"},
                             "value": 3}) + "\n"
                 + json.dumps({"metric": {"__name__": "latency_ms", "service": "b"},
                               "value": [1767225601.5, "4.5"]}) + "\n")
    recs, _ = _records(p)
    assert [(r["service"], r["latency_ms"]) for r in recs] == [("a", 3.0), ("b", 4.5)]


def test_malformed_lines_are_counted_with_their_line_numbers_and_skipped(tmp_path: Path) -> None:
    p = tmp_path / "m.jsonl"
    good = json.dumps({"timestamp": "2026-01-01T00:00:00Z", "name": "x", "labels": {}, "value": 1})
    p.write_text(f"{good}\n{{broken\n{good}\n" + json.dumps({"name": "x", "value": 1}) + "\n")
    recs, stats = _records(p)
    assert len(recs) == 2
    assert stats.malformed == 2
    assert [(pr.line, pr.message.split(":")[0]) for pr in stats.problems] == [
        (2, "malformed JSON"), (4, "not a metric sample (missing time, name or value)")]


def test_bad_access_log_line_is_reported_not_fatal(tmp_path: Path) -> None:
    p = tmp_path / "access.log"
    line = '10.0.0.1 - - [01/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "x"'
    p.write_text(f"{line}\nthis is not a log line\n{line}\n")
    recs, stats = _records(p)
    assert len(recs) == 2 and [pr.line for pr in stats.problems] == [2]


def test_iam_audit_log_as_a_pretty_printed_array_is_read(tmp_path: Path) -> None:
    p = tmp_path / "iam.json"
    p.write_text(json.dumps([{"id": 1, "ts": 1767225600.5, "event": "login", "actor": "bob", "subject": "bob",
                              "source": "192.0.2.7", "outcome": "failure", "detail": {}}], indent=2))
    recs, _ = _records(p)
    assert [(r["_kind"], r["user"], r["src_ip"], r["outcome"]) for r in recs] == [
        ("iam", "bob", "192.0.2.7", "failure")]


def test_records_out_of_order_within_the_lateness_come_out_sorted(tmp_path: Path) -> None:
    p = tmp_path / "m.jsonl"
    p.write_text("".join(json.dumps({"timestamp": t, "name": "x", "labels": {}, "value": 1}) + "\n"
                         for t in (1767225610, 1767225600, 1767225620, 1767225615)))
    recs, stats = _records(p, lateness=30)
    assert [r["_ts"] for r in recs] == sorted(r["_ts"] for r in recs)
    assert stats.late == {}


def test_records_later_than_the_lateness_are_counted_as_late(tmp_path: Path) -> None:
    p = tmp_path / "m.jsonl"
    p.write_text("".join(json.dumps({"timestamp": t, "name": "x", "labels": {}, "value": 1}) + "\n"
                         for t in (1767225600, 1767225900, 1767225950, 1767225601)))
    recs, stats = _records(p, lateness=10)
    assert len(recs) == 3 and stats.late == {str(p): 1}


def test_unrecognised_file_is_reported(tmp_path: Path) -> None:
    p = tmp_path / "notes.txt"
    p.write_text("hello world\n")
    recs, stats = _records(p)
    assert recs == [] and "unrecognised input" in stats.problems[0].message


def test_a_truncated_gzip_log_keeps_the_records_before_the_cut_and_says_why(tmp_path: Path) -> None:
    import gzip

    lines = "".join(f'10.0.0.{i % 250} - - [05/Jan/2026:10:{i // 60 % 60:02d}:{i % 60:02d} +0000] '
                    f'"GET /item/{i} HTTP/1.1" 200 {i}\n' for i in range(3000))
    whole = gzip.compress(lines.encode())
    path = tmp_path / "access.log.gz"
    path.write_bytes(whole[: len(whole) * 9 // 10])
    recs, stats = _records(path)
    assert 0 < len(recs) < 3000
    assert [p.message.split(":")[0] for p in stats.problems] == ["cannot read further"]


def test_audit_events_with_no_sign_that_reads_them_are_said_to_be_unread(tmp_path: Path) -> None:
    p = tmp_path / "audit.jsonl"
    p.write_text(json.dumps({"kind": "Event", "apiVersion": "audit.k8s.io/v1", "verb": "get",
                             "requestReceivedTimestamp": "2026-01-01T00:00:00Z"}) + "\n")
    recs, stats = _records(p)
    assert recs == [] and "no sign names one" in stats.problems[0].message
