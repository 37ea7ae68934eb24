"""Fixtures for the response tests: alerts, playbooks, the recorded Kubernetes API, schema checks."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cnsec.model.event import Alert
from cnsec.model.severity import Severity
from cnsec.model.source import Source
from cnsec.respond.actions.base import ActionContext, CommandResult
from cnsec.respond.alerts import LoadedAlert
from cnsec.respond.audit import AuditTrail
from cnsec.respond.engine import Responder, RunResult
from cnsec.respond.kube import RecordingKubeApi
from cnsec.respond.playbooks import Playbook, parse_playbook

T0 = 1_800_000_000.0


def make_alert(key: str = "203.0.113.7", *, rule_id: str = "CNSEC-DOS-001",
               threat_id: str | None = "denial-of-service", severity: Severity = Severity.HIGH,
               action: str | None = "block_traffic", evidence: list[dict[str, Any]] | None = None,
               count: int = 10) -> Alert:
    return Alert(rule_id=rule_id, title=f"{rule_id} fired", severity=severity, threat_id=threat_id, key=key,
                 first_seen=T0, last_seen=T0 + 300, evidence=evidence or [], count=count, action=action,
                 attack_ids=("T1498",))


def loaded(*alerts: Alert) -> list[LoadedAlert]:
    return [LoadedAlert(a, Source("alerts.jsonl", i)) for i, a in enumerate(alerts, 1)]


def validate_k8s(obj: dict[str, Any]) -> None:
    """Strict schema validation of everything written to the API double (like admission would)."""
    import kubernetes_validate

    body = json.loads(json.dumps(obj))
    body.get("metadata", {}).pop("resourceVersion", None)
    kubernetes_validate.validate(body, kubernetes_validate.latest_version(), strict=True)


@pytest.fixture
def kube() -> RecordingKubeApi:
    return RecordingKubeApi(validate=validate_k8s)


class FakeNft:
    """nft as a set of elements: `list table` fails until the table exists."""

    def __init__(self) -> None:
        self.table = False
        self.elements: set[tuple[str, str]] = set()
        self.calls: list[list[str]] = []

    def __call__(self, argv: list[str], timeout: float) -> CommandResult:
        self.calls.append(argv)
        verb, obj = argv[1], argv[2]
        if verb == "list" and obj == "table":
            return CommandResult(0 if self.table else 1, "", "" if self.table else "No such file")
        if verb == "add" and obj == "table":
            self.table = True
            return CommandResult(0, "", "")
        if obj == "element":
            if not self.table:
                return CommandResult(1, "", "Error: No such file or directory")
            item = (argv[5], argv[6])
            if verb == "get":
                return CommandResult(0 if item in self.elements else 1, "", "")
            self.elements.add(item)
            return CommandResult(0, "", "")
        return CommandResult(0, "", "")


@pytest.fixture
def nft() -> FakeNft:
    return FakeNft()


@pytest.fixture
def audit(tmp_path: Path) -> AuditTrail:
    return AuditTrail(tmp_path / "audit.jsonl")


PlaybookFactory = Callable[[str], Playbook]


@pytest.fixture
def playbook() -> PlaybookFactory:
    def build(text: str) -> Playbook:
        return parse_playbook(text, "playbook.yaml")
    return build


Runner = Callable[..., RunResult]


@pytest.fixture
def respond(kube: RecordingKubeApi, nft: FakeNft, audit: AuditTrail) -> Runner:
    """Run a playbook over alerts: dry run unless apply=True; the doubles are shared across calls."""

    def run(pb: Playbook, alerts: list[LoadedAlert], *, apply: bool = False, directory: Any = None,
            env: dict[str, str] | None = None, clock: Callable[[], float] | None = None) -> RunResult:
        ctx = ActionContext(apply=apply, kube_factory=lambda: kube, runner=nft, env=env or {},
                            directory_factory=(lambda url: directory) if directory is not None else None)
        kwargs = {"clock": clock} if clock else {}
        return Responder(pb, ctx, audit, **kwargs).run(alerts)

    return run
