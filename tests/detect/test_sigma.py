from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest

from cnsec.detect.rules import load_file, load_paths

from .helpers import matches, sigma_rule


def test_sigma_corpus_loads_at_least_98_percent(detect_corpus: Path) -> None:
    result = load_paths([detect_corpus / "sigma-rules"])
    total = len(result.rules) + len(result.failures)
    assert total >= 241
    assert len(result.rules) / total >= 0.98, result.failures


def test_plain_value_matches_case_insensitively() -> None:
    assert matches({"sel": {"eventName": "CreateUser"}, "condition": "sel"}, {"eventName": "createuser"})


def test_cased_modifier_matches_case_sensitively() -> None:
    det = {"sel": {"eventName|cased": "CreateUser"}, "condition": "sel"}
    assert matches(det, {"eventName": "CreateUser"})
    assert not matches(det, {"eventName": "createuser"})


def test_contains_startswith_endswith() -> None:
    det = {"a": {"f|contains": "mid"}, "b": {"g|startswith": "pre"}, "c": {"h|endswith": "post"},
           "condition": "a and b and c"}
    assert matches(det, {"f": "xxMIDxx", "g": "prefix", "h": "the-post"})
    assert not matches(det, {"f": "xx", "g": "prefix", "h": "the-post"})


def test_all_modifier_requires_every_value() -> None:
    det = {"sel": {"cmd|contains|all": ["curl", "169.254.169.254"]}, "condition": "sel"}
    assert matches(det, {"cmd": "curl http://169.254.169.254/latest"})
    assert not matches(det, {"cmd": "curl http://example.com"})


def test_wildcards_inside_a_value() -> None:
    det = {"sel": {"userAgent": "aws-cli/*Python/3.?"}, "condition": "sel"}
    assert matches(det, {"userAgent": "aws-cli/1.18 Python/3.8"})
    assert not matches(det, {"userAgent": "boto3 Python/3.8"})


def test_regex_modifier_runs_on_re2_without_catastrophic_backtracking() -> None:
    det = {"sel": {"f|re": "^(a+)+$"}, "condition": "sel"}
    start = time.perf_counter()
    assert not matches(det, {"f": "a" * 5000 + "!"})
    assert time.perf_counter() - start < 1.0


def test_regex_with_lookahead_falls_back_and_still_matches() -> None:
    det = {"sel": {"f|re": "foo(?!bar)"}, "condition": "sel"}
    assert matches(det, {"f": "foobaz"})
    assert not matches(det, {"f": "foobar"})


def test_cidr_modifier() -> None:
    det = {"sel": {"sourceIPAddress|cidr": "10.0.0.0/8"}, "condition": "sel"}
    assert matches(det, {"sourceIPAddress": "10.1.2.3"})
    assert not matches(det, {"sourceIPAddress": "192.168.1.1"})
    assert not matches(det, {"sourceIPAddress": "not-an-ip"})


def test_base64_and_base64offset_modifiers() -> None:
    encoded = base64.b64encode(b"xx/bin/sh -i yy").decode()
    assert matches({"sel": {"f|base64offset|contains": "/bin/sh -i"}, "condition": "sel"}, {"f": encoded})
    plain = base64.b64encode(b"secret").decode()
    assert matches({"sel": {"f|base64": "secret"}, "condition": "sel"}, {"f": plain})


def test_windash_modifier_expands_dash_variants() -> None:
    det = {"sel": {"cmd|windash|contains": "-exec"}, "condition": "sel"}
    assert matches(det, {"cmd": "x /exec y"})
    assert matches(det, {"cmd": "x -exec y"})


def test_exists_modifier() -> None:
    det = {"sel": {"errorCode|exists": True}, "condition": "sel"}
    assert matches(det, {"errorCode": "AccessDenied"})
    assert not matches(det, {"eventName": "x"})


def test_null_value_matches_missing_field() -> None:
    det = {"sel": {"errorCode": None}, "condition": "sel"}
    assert matches(det, {"eventName": "x"})
    assert not matches(det, {"errorCode": "AccessDenied"})


def test_numeric_comparisons() -> None:
    det = {"sel": {"code|gte": 400, "size|lt": 10}, "condition": "sel"}
    assert matches(det, {"code": 403, "size": 3})
    assert not matches(det, {"code": 200, "size": 3})


def test_fieldref_compares_two_fields() -> None:
    det = {"sel": {"a|fieldref": "b"}, "condition": "sel"}
    assert matches(det, {"a": "X", "b": "x"})
    assert not matches(det, {"a": "X", "b": "y"})


def test_keywords_search_every_value() -> None:
    det = {"keywords": ["mimikatz"], "condition": "keywords"}
    assert matches(det, {"a": {"b": ["run MIMIKATZ now"]}})
    assert not matches(det, {"a": "clean"})


def test_condition_grammar_one_of_all_of_not_parentheses() -> None:
    det = {"sel_a": {"a": "1"}, "sel_b": {"b": "2"}, "filter": {"c": "3"},
           "condition": "(1 of sel_*) and not filter"}
    assert matches(det, {"b": "2"})
    assert not matches(det, {"b": "2", "c": "3"})
    det_all = {"s1": {"a": "1"}, "s2": {"b": "2"}, "condition": "all of them"}
    assert matches(det_all, {"a": "1", "b": "2"})
    assert not matches(det_all, {"a": "1"})


def test_lists_inside_the_event_match_any_element() -> None:
    det = {"sel": {"requestObject.spec.containers.securityContext.privileged": True}, "condition": "sel"}
    event = {"requestObject": {"spec": {"containers": [{"name": "a"}, {"securityContext": {"privileged": True}}]}}}
    assert matches(det, event)


def test_gcp_field_mapping_strips_data_prefix_and_maps_method_name() -> None:
    rule = sigma_rule({"sel": {"gcp.audit.method_name": "x.Delete", "data.protoPayload.serviceName": "s"},
                       "condition": "sel"}, "gcp", "gcp.audit")
    assert rule.source == "gcp-audit"
    assert rule.match({"protoPayload": {"methodName": "x.Delete", "serviceName": "s"}})


def test_placeholder_is_reported_with_precise_reason(tmp_path: Path) -> None:
    f = tmp_path / "p.yml"
    f.write_text("title: t\nlogsource: {product: aws, service: cloudtrail}\n"
                 "detection:\n  sel:\n    userName|expand: '%admins%'\n  condition: sel\n")
    result = load_file(f)
    assert not result.rules
    assert "placeholder %admins%" in result.failures[0].reason


def test_broken_yaml_is_reported_with_line(tmp_path: Path) -> None:
    f = tmp_path / "bad.yml"
    f.write_text("title: t\ndetection: [\n")
    result = load_file(f)
    assert result.failures and "line" in result.failures[0].reason


def test_an_alias_bomb_in_a_rule_file_is_reported_not_silently_dropped(tmp_path: Path) -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    f = tmp_path / "bomb.yml"
    f.write_text("\n".join(levels) + "\ntitle: t\nlogsource: {product: kubernetes, service: audit}\n"
                 "detection: {sel: {verb: *a8}, condition: sel}\n")
    result = load_file(f)
    assert not result.rules
    assert len(result.failures) == 1 and "expands to more than" in result.failures[0].reason


def test_an_alias_bomb_fails_its_own_document_and_the_others_load(tmp_path: Path) -> None:
    levels = ["xa0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"xa{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    head = "title: t\nseverity: low\nsource: k8s-audit\n"
    f = tmp_path / "native.yml"
    f.write_text("---\n---\nid: X-1\n" + head + "\n".join(levels) + "\nmatch: {sel: {verb: *a8}, condition: sel}\n"
                 "---\nid: X-2\n" + head + "match: {sel: {verb: get}, condition: sel}\n")  # empty ones count
    result = load_file(f)
    assert [r.id for r in result.rules] == ["X-2"]
    assert [x.reason for x in result.failures] == [
        "invalid YAML: document 2 expands to more than 1,000,000 nodes through aliases (YAML bomb?)"]


def test_errors_of_rules_in_a_file_are_reported_once_each(tmp_path: Path) -> None:
    f = tmp_path / "two.yml"
    f.write_text("title: t\nlogsource: {product: kubernetes, service: audit}\n"
                 "detection: {sel: {verb|nosuchmod: a}, condition: sel}\n---\n"
                 "title: u\nlogsource: {product: kubernetes, service: audit}\n"
                 "detection: {sel: {verb: a}, condition: sel and nothere}\n")
    reasons = [f.reason for f in load_file(f).failures]
    assert len(reasons) == 2 and "nosuchmod" in reasons[0] and "nothere" in reasons[1]


def test_rule_is_a_reusable_sign() -> None:
    rule = sigma_rule({"sel": {"eventName": "x"}, "condition": "sel"})
    sign = rule.sign()
    assert sign.rule_id == rule.id and sign.id == rule.id


def test_regex_required_literal_is_extracted_for_the_index() -> None:
    from cnsec.detect.rules.matcher import regex_literal

    assert regex_literal(".+:assumed-role/aws:.+") == ":assumed-role"
    assert regex_literal("foo(bar)?bazz") == "bazz"
    assert regex_literal("a|bcdef") is None


def test_regex_with_a_required_literal_still_matches_case_insensitively() -> None:
    det = {"sel": {"userIdentity.arn|re|i": ".+:ASSUMED-ROLE/aws:.+"}, "condition": "sel"}
    assert matches(det, {"userIdentity": {"arn": "arn:aws:sts::1:assumed-role/aws:x/i-1"}})
    assert not matches(det, {"userIdentity": {"arn": "arn:aws:sts::1:assumed-role/web/i-1"}})


def test_two_level_fields_match_a_flattened_key_when_the_parent_object_is_absent_or_null() -> None:
    contains = {"sel": {"userIdentity.arn|contains": "assumed-role"}, "condition": "sel"}
    above = {"sel": {"responseStatus.code|gte": 400}, "condition": "sel"}
    assert matches(contains, {"userIdentity.arn": "arn:aws:sts::1:assumed-role/x"})
    assert matches(contains, {"userIdentity": None, "userIdentity.arn": "arn:aws:sts::1:assumed-role/x"})
    assert not matches(contains, {"userIdentity": None})
    assert not matches(contains, {})
    assert matches(above, {"responseStatus": None, "responseStatus.code": 403})
    assert not matches(above, {"responseStatus": None})


def test_a_catastrophic_look_around_regex_stays_within_its_time_budget_per_value() -> None:
    import time

    from cnsec.detect.rules.matcher import take_timeouts

    rule = sigma_rule({"sel": {"eventName|re": "^(?!zzz)(a|aa)+$"}, "condition": "sel"})
    take_timeouts()
    start = time.process_time()
    assert not rule.match({"eventName": "a" * 40 + "!"})
    assert time.process_time() - start < 1.0
    assert take_timeouts() == {"^(?!zzz)(a|aa)+$": 1}
    assert rule.match({"eventName": "aaaa"})  # what it can decide in time, it still decides


def test_a_look_around_regex_is_noted_by_rules_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cnsec.cli import main

    (tmp_path / "r.yml").write_text("title: t\nlogsource: {product: aws, service: cloudtrail}\n"
                                    "detection:\n  sel:\n    eventName|re: '^(?!Get)Put.*'\n  condition: sel\n")
    assert main(["rules", "check", str(tmp_path), "-f", "json"]) == 0
    captured = capsys.readouterr()
    [note] = json.loads(captured.out)["notes"]
    assert "needs backtracking" in note["note"] and "50 ms per value" in note["note"]
    assert captured.err == ""  # RE2's own complaint about the pattern stays out


def test_a_regex_timeout_while_scanning_is_reported_for_the_input(tmp_path: Path) -> None:
    from cnsec.detect.engine import Engine
    from cnsec.detect.sources import open_binary

    rule = sigma_rule({"sel": {"eventName|re": "^(?!zzz)(a|aa)+$"}, "condition": "sel"})
    f = tmp_path / "ct.jsonl"
    f.write_text(json.dumps({"eventSource": "s3.amazonaws.com", "eventName": "a" * 40 + "!"}) + "\n")
    engine = Engine([rule])
    with open_binary(str(f)) as stream:
        engine.scan_stream(stream, str(f), "cloudtrail", lambda m: None)
    [problem] = engine.stats.problems
    assert "ran out of its 50 ms budget on 1 value(s)" in problem.message and engine.stats.malformed == 0
