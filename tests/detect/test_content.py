from __future__ import annotations

import pytest

from cnsec.detect.engine import Engine
from cnsec.detect.rules import Example, Rule, bundled
from cnsec.model.threat import threat_catalog

RULES = bundled().rules
CASES = [(r, ex) for r in RULES for ex in r.examples]


@pytest.mark.parametrize(("rule", "example"), CASES, ids=[f"{r.id}-{e.name}" for r, e in CASES])
def test_bundled_rule_example_behaves_as_declared(rule: Rule, example: Example) -> None:
    engine = Engine(RULES)
    fired = {r.id for r in engine.scan_events([example.event], rule.source or "json")}
    assert (rule.id in fired) is example.should_match


def test_every_bundled_rule_has_a_positive_and_a_negative_example() -> None:
    for r in RULES:
        assert any(e.should_match for e in r.examples), r.id
        assert any(not e.should_match for e in r.examples), r.id


def test_bundled_rules_name_threats_from_the_shared_catalog() -> None:
    catalog = threat_catalog()
    for r in RULES:
        assert r.threat_id is None or r.threat_id in catalog, r.id
        if r.severity.label != "info" and r.source != "falco":
            assert r.threat_id is not None, r.id
