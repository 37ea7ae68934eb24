"""Stratus Red Team coverage: every AWS, EKS and Kubernetes technique raises its bundled rule, and its
revert or cleanup does not.

The events (data/stratus/cases.json, see SOURCES.md there) are the CloudTrail records Stratus Red Team
recorded from real detonations where it publishes them, and otherwise records of the technique's own API
calls (read from its Go source) in the envelope of such a real record; audit events take the shape of
the Falco corpus's kube-apiserver events. The new rules must also stay quiet on the real corpus logs,
and their hits on Panther's labelled negatives are exactly the ones docs/detection.md explains.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from cnsec.detect.alerts import AlertBook
from cnsec.detect.engine import Engine
from cnsec.detect.rules import bundled
from cnsec.detect.sources import expand, open_binary, sniff_source

DATA = json.loads((Path(__file__).parent / "data/stratus/cases.json").read_text())
CASES: list[dict[str, Any]] = DATA["cases"]
DOC = Path(__file__).resolve().parents[2] / "docs/detection.md"
ENGINE = Engine(bundled().rules)

#: the rules this coverage added or changed (AWS-002 selectors, AWS-010 DNS logs, AWS-011 cidrIp form)
NEW = ({f"CNSEC-DET-AWS-{i:03d}" for i in range(14, 41)} | {f"CNSEC-DET-K8S-{i:03d}" for i in range(24, 29)}
       | {"CNSEC-DET-AWS-002", "CNSEC-DET-AWS-010", "CNSEC-DET-AWS-011"})

#: Panther labelled negatives (rule, test name) the new rules alert on, each explained in docs/detection.md
PANTHER_NEGATIVES_HIT = {
    ("CNSEC-DET-AWS-010", "Config Recorder Deleted"),  # a negative of Panther's "Config created" rule
    ("CNSEC-DET-AWS-015", "BatchGetSecretValue Catch-All with other filters"),
    ("CNSEC-DET-AWS-024", "Single Command Send, No Cached IDs"),
    ("CNSEC-DET-AWS-025", "AMI Added to User"),
    ("CNSEC-DET-AWS-025", "Error Making AMI Public"),
    ("CNSEC-DET-AWS-032", "Public SSH Key Not Sent Successfully"),
    ("CNSEC-DET-K8S-024", "Namespaced secret list (not cluster-wide)"),
}


def _corpus() -> Path:
    """The detect corpus beside the checkout, or beside the main checkout when this is a git worktree."""
    root = Path(__file__).resolve().parents[2]
    candidates = [root / "../shared/corpora/detect"]
    if (root / ".git").is_file():  # a worktree's .git names <main>/.git/worktrees/<name>
        gitdir = Path((root / ".git").read_text().split(":", 1)[1].strip())
        candidates.append(gitdir.parents[2] / "../shared/corpora/detect")
    for c in candidates:
        if c.is_dir():
            return c.resolve()
    pytest.skip(f"detect corpus not found at {candidates[0]}")


@pytest.fixture
def corpus() -> Path:
    return _corpus()


def _alerts(path: Path) -> list[Any]:
    book = AlertBook()
    with open_binary(str(path)) as s:  # a missing input raises, not an empty result
        ENGINE.scan_stream_events(s, str(path), None, book.add_event)
    return book.alerts()


def _fired(events: list[dict[str, Any]]) -> set[str]:
    fired: set[str] = set()
    for e in events:
        fired |= {r.id for r in ENGINE.scan_events([e], sniff_source(e) or "json")}
    return fired


@pytest.mark.parametrize("case", CASES, ids=[c["technique"] for c in CASES])
def test_the_stratus_detonation_raises_its_rule(case: dict[str, Any]) -> None:
    assert case["rule"] in _fired(case["detonation"])


@pytest.mark.parametrize("case", CASES, ids=[c["technique"] for c in CASES])
def test_the_stratus_revert_or_cleanup_leaves_its_rule_quiet(case: dict[str, Any]) -> None:
    assert case["cleanup"], "every case shows at least one revert, cleanup or neighbouring call"
    fired = case["rule"] in _fired(case["cleanup"])
    # a revert CloudTrail cannot tell from the detonation is declared, with the reason, not hidden
    assert fired is bool(case.get("cleanup_alerts")), case.get("why") or case["cleanup_calls"]


def test_each_cleanup_call_is_checked_on_its_own() -> None:
    """A quiet cleanup must be quiet event by event, not only as a batch (one event hiding another)."""
    for case in CASES:
        if case.get("cleanup_alerts"):
            continue
        for e in case["cleanup"]:
            assert case["rule"] not in _fired([e]), (case["technique"], e.get("eventName") or e.get("verb"))


def test_the_coverage_table_lists_every_technique_with_its_rule_and_test() -> None:
    rows = {m.group(1): (m.group(2), m.group(3)) for m in re.finditer(
        r"^\| `([a-z0-9.-]+)` \| `(CNSEC-DET-[A-Z0-9-]+)` \| `([a-z_]+)` \|", DOC.read_text(), re.M)}
    assert set(rows) == {c["technique"] for c in CASES}
    for c in CASES:
        rule, test = rows[c["technique"]]
        assert rule == c["rule"], c["technique"]
        assert test == "test_the_stratus_detonation_raises_its_rule"
    assert DATA["stratus_commit"] in DOC.read_text()


def test_the_new_rules_stay_quiet_on_the_real_corpus_logs(corpus: Path) -> None:
    loud: dict[str, int] = {}
    for f in sorted((corpus / "logs").rglob("*.json*")):
        if f.name.startswith("_") or "panther" in f.parts[-2]:
            continue
        for a in _alerts(f):
            if a.rule_id in NEW:
                loud[f"{a.rule_id} {f.name}"] = loud.get(f"{a.rule_id} {f.name}", 0) + a.count
    assert loud == {}


def test_the_new_rules_hits_on_panther_negatives_are_the_explained_ones(corpus: Path) -> None:
    hit: set[tuple[str, str]] = set()
    for name in ("K8s.Audit", "AWS.CloudTrail", "GCP.AuditLog"):
        for line in (corpus / f"logs/panther-analysis-tests/{name}.labeled.jsonl").open():
            t = json.loads(line)
            if t["expected_result"] or not isinstance(t["log"], dict):
                continue
            events = expand(t["log"])
            if not events:
                continue
            for r in ENGINE.scan_events(events, sniff_source(events[0]) or "json"):
                if r.id in NEW:
                    hit.add((r.id, t["test_name"]))
    assert hit == PANTHER_NEGATIVES_HIT


def test_a_trust_policy_that_is_not_json_or_nested_past_the_parser_is_no_match_not_a_crash() -> None:
    base = next(e for c in CASES if c["technique"] == "aws.persistence.iam-backdoor-role" for e in c["detonation"])
    for doc in ("{not json", "[" * 100_000 + "]" * 100_000, '{"Statement": "x"}'):
        event = dict(base, requestParameters={"roleName": "r", "policyDocument": doc})
        assert "CNSEC-DET-AWS-034" not in _fired([event])
