from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from cnsec.errors import InputError
from cnsec.model.severity import Severity
from cnsec.respond.alerts import load_alerts, parse_alert_lines
from tests.respond.conftest import make_alert


def test_alert_to_dict_round_trips_through_the_parser() -> None:
    alert = make_alert(evidence=[{"src_ip": "203.0.113.7"}])
    [back] = parse_alert_lines([json.dumps(alert.to_dict())], "a.jsonl")
    assert back.alert == alert
    assert str(back.source) == "a.jsonl:1"


def test_blank_lines_are_skipped_and_line_numbers_stay_true() -> None:
    line = json.dumps(make_alert().to_dict())
    parsed = parse_alert_lines(["", line, "   ", line], "a.jsonl")
    assert [p.source.line for p in parsed] == [2, 4]


def test_invalid_json_is_reported_with_file_and_line() -> None:
    good = json.dumps(make_alert().to_dict())
    with pytest.raises(InputError) as err:
        parse_alert_lines([good, "{not json"], "alerts.jsonl")
    assert str(err.value).startswith("alerts.jsonl:2: not valid JSON")


def test_missing_field_names_the_field_and_line() -> None:
    obj = make_alert().to_dict()
    del obj["key"]
    with pytest.raises(InputError, match=r"alerts.jsonl:1: bad alert: missing required field 'key'"):
        parse_alert_lines([json.dumps(obj)], "alerts.jsonl")


def test_unknown_severity_is_an_input_error() -> None:
    obj = make_alert().to_dict() | {"severity": "urgent"}
    with pytest.raises(InputError, match="unknown severity 'urgent'"):
        parse_alert_lines([json.dumps(obj)], "a.jsonl")


def test_every_bad_line_is_counted_in_the_message() -> None:
    with pytest.raises(InputError, match=r"a.jsonl:1: .*and 2 more bad line\(s\); nothing was done"):
        parse_alert_lines(["[]", "{}", "nope"], "a.jsonl")


def test_epoch_seconds_and_offsets_are_accepted() -> None:
    obj = make_alert().to_dict() | {"first_seen": 1_800_000_000, "last_seen": "2027-01-15T11:05:00+03:00"}
    [back] = parse_alert_lines([json.dumps(obj)], "a.jsonl")
    assert back.alert.first_seen == 1_800_000_000
    assert back.alert.last_seen == 1_800_000_000 + 300


def test_last_seen_before_first_seen_is_rejected() -> None:
    obj = make_alert().to_dict() | {"last_seen": "2000-01-01T00:00:00Z"}
    with pytest.raises(InputError, match="last_seen is before first_seen"):
        parse_alert_lines([json.dumps(obj)], "a.jsonl")


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="alerts file not found"):
        load_alerts(str(tmp_path / "nope.jsonl"))


def test_stdin_is_read_for_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(make_alert(severity=Severity.LOW).to_dict())))
    [back] = load_alerts("-")
    assert back.alert.severity is Severity.LOW
    assert str(back.source) == "<stdin>:1"
