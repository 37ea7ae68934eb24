"""Accuracy on labelled real data: Falco's k8s audit test traces and the OTRF CloudTrail breach."""

from __future__ import annotations

import json
from pathlib import Path

from cnsec.detect.alerts import AlertBook
from cnsec.detect.engine import Engine
from cnsec.detect.rules import bundled
from cnsec.detect.sources import open_binary
from cnsec.model.severity import Severity

STANDARD = {"falco_rules.yaml", "k8s_audit_rules.yaml", "disallow_kactivity.yaml"}


def _alerts(path: Path) -> list:  # type: ignore[type-arg]
    rules = bundled().rules
    engine = Engine(rules)
    book = AlertBook()
    with open_binary(str(path)) as s:
        engine.scan_stream(s, str(path), None, lambda m: book.add(m) and None)
    return book.alerts()


def _standard_cases(corpus: Path) -> list[tuple[str, dict]]:  # type: ignore[type-arg]
    labels = json.loads((corpus / "logs/falco-k8s-audit-traces/_labels_from_falco_k8s_audit_tests.json").read_text())
    return [(trace, t) for trace, tests in labels.items() for t in tests
            if set(t["rules_file"]) <= STANDARD and not t["test"].startswith("compat_")]


def test_falco_flagged_traces_fire_our_equivalent_rule(detect_corpus: Path) -> None:
    equivalents = {name: r.id for r in bundled().rules for name in r.equivalents.get("falco", ())}
    checked = 0
    for trace, test in _standard_cases(detect_corpus):
        if not test["detect"]:
            continue
        fired = {a.rule_id for a in _alerts(detect_corpus / "logs/falco-k8s-audit-traces" / trace)}
        for counts in test["detect_counts"]:
            for falco_rule in counts:
                assert equivalents[falco_rule] in fired, (trace, falco_rule)
                checked += 1
    assert checked >= 30


def test_traces_falco_does_not_flag_raise_nothing_above_info(detect_corpus: Path) -> None:
    checked = 0
    for trace, test in _standard_cases(detect_corpus):
        if test["detect"]:
            continue
        alerts = _alerts(detect_corpus / "logs/falco-k8s-audit-traces" / trace)
        assert all(a.severity == Severity.INFO for a in alerts), (trace, [a.rule_id for a in alerts])
        checked += 1
    assert checked >= 5


def test_otrf_cloudtrail_breach_raises_a_high_alert(detect_corpus: Path) -> None:
    f = detect_corpus / "logs/otrf-security-datasets/ec2_proxy_s3_exfiltration_2020-09-14011940.json"
    alerts = _alerts(f)
    high = [a for a in alerts if a.severity >= Severity.HIGH]
    assert high
    assert {a.threat_id for a in high} & {"credential-abuse", "data-breach"}
