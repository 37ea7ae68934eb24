from __future__ import annotations

from pathlib import Path

import pytest

from cnsec.errors import InputError
from cnsec.model.severity import Severity
from cnsec.respond.actions import load_actions
from cnsec.respond.playbooks import bundled_playbook_path, load_playbook, parse_duration, parse_playbook
from tests.respond.conftest import make_alert

BASE = """version: 1
rules:
  - name: block
    match: {threats: [denial-of-service], severity: high}
    do:
      - block_traffic: {namespace: shop}
"""


def test_the_bundled_playbook_loads() -> None:
    playbook = load_playbook(bundled_playbook_path())
    assert {step.action for rule in playbook.rules for step in rule.steps} == set(load_actions())


def test_actions_are_discovered_from_the_package() -> None:
    assert sorted(load_actions()) == ["block_traffic", "deny_access", "notify", "quarantine_pod"]


def test_an_unknown_action_is_reported_with_its_line() -> None:
    with pytest.raises(InputError, match=r"^p.yaml:6: unknown action 'block_everything'"):
        parse_playbook(BASE.replace("block_traffic:", "block_everything:"), "p.yaml")


def test_an_unknown_parameter_is_reported_with_its_line() -> None:
    with pytest.raises(InputError, match=r"^p.yaml:6: block_traffic: unknown parameter\(s\) namespce"):
        parse_playbook(BASE.replace("namespace:", "namespce:"), "p.yaml")


def test_a_mistyped_parameter_is_reported() -> None:
    with pytest.raises(InputError, match="parameter max_sources must be int"):
        parse_playbook(BASE.replace("{namespace: shop}", "{max_sources: many}"), "p.yaml")


def test_an_unknown_match_key_is_reported_with_its_line() -> None:
    with pytest.raises(InputError, match=r"^p.yaml:4: rule 'block': match: unknown key 'severty'"):
        parse_playbook(BASE.replace("severity:", "severty:"), "p.yaml")


def test_invalid_yaml_is_reported_with_its_line() -> None:
    with pytest.raises(InputError, match=r"^p.yaml:\d+: invalid YAML"):
        parse_playbook(BASE + "  - name: [unclosed\n", "p.yaml")


def test_a_bad_allow_list_cidr_is_reported() -> None:
    with pytest.raises(InputError, match=r"p.yaml:1: allow_list.cidrs: '10.0.0.300/8' is not a CIDR"):
        parse_playbook("allow_list: {cidrs: [10.0.0.300/8]}\n" + BASE.replace("version: 1\n", ""), "p.yaml")


def test_a_playbook_without_rules_is_refused() -> None:
    with pytest.raises(InputError, match="non-empty 'rules' list"):
        parse_playbook("version: 1\n", "p.yaml")


def test_duplicate_keys_are_refused() -> None:
    with pytest.raises(InputError, match=r"p.yaml:2: duplicate key 'version'"):
        parse_playbook("version: 1\nversion: 1\n" + BASE.split("\n", 1)[1], "p.yaml")


def test_an_alias_bomb_is_refused_before_it_is_walked() -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
    with pytest.raises(InputError, match=r"^p.yaml: the playbook expands to more than .* nodes"):
        parse_playbook("\n".join(levels) + "\n" + BASE, "p.yaml")


def test_a_playbook_whose_alias_refers_to_itself_is_refused_with_its_line() -> None:
    with pytest.raises(InputError, match=r"^p.yaml:1: invalid YAML: found unconstructable recursive node"):
        parse_playbook("loop: &loop [*loop]\n" + BASE, "p.yaml")


def test_a_hostile_nesting_depth_is_an_input_error_not_a_crash() -> None:
    with pytest.raises(InputError, match=r"nested too deeply|nested deeper"):
        parse_playbook("deep: " + "[" * 5000 + "]" * 5000 + "\n" + BASE, "p.yaml")


def test_rules_match_on_threat_and_minimum_severity() -> None:
    playbook = parse_playbook(BASE, "p.yaml")
    assert playbook.matching(make_alert(severity=Severity.CRITICAL))
    assert not playbook.matching(make_alert(severity=Severity.MEDIUM))
    assert not playbook.matching(make_alert(threat_id="sql-injection"))


def test_rules_match_rule_ids_and_keys_by_glob() -> None:
    playbook = parse_playbook(BASE.replace("{threats: [denial-of-service], severity: high}",
                                           "{rules: ['CNSEC-DOS-*'], keys: ['203.0.113.*'], min_count: 5}"),
                              "p.yaml")
    assert playbook.matching(make_alert("203.0.113.7", count=5))
    assert not playbook.matching(make_alert("203.0.113.7", count=4))
    assert not playbook.matching(make_alert("198.51.100.1"))


def test_stop_ends_rule_evaluation() -> None:
    text = BASE.replace("    do:", "    stop: true\n    do:") + """  - name: tell
    do: [notify]
"""
    playbook = parse_playbook(text, "p.yaml")
    assert [r.name for r in playbook.matching(make_alert())] == ["block"]


def test_allow_list_defaults_can_be_turned_off() -> None:
    playbook = parse_playbook("allow_list: {defaults: false}\n" + BASE.replace("version: 1\n", ""), "p.yaml")
    assert playbook.allow_list.cidrs == [] and playbook.allow_list.names == []


def test_durations_parse() -> None:
    assert [parse_duration(v) for v in ("30s", "5m", "1h", 90)] == [30, 300, 3600, 90]
    with pytest.raises(ValueError):
        parse_duration("soon")


def test_a_missing_playbook_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="playbook not found"):
        load_playbook(str(tmp_path / "none.yaml"))


def test_a_duplicate_action_id_fails_loudly() -> None:
    from cnsec.respond.actions import _register
    from cnsec.respond.actions.notify import Notify

    found = {"notify": Notify()}
    with pytest.raises(RuntimeError, match="duplicate response action id 'notify'"):
        _register(found, Notify, "entry point other")
