"""Alerts × playbook → decisions: planned, applied, unchanged, skipped or failed — each one audited.

Order of checks for every change: the action's own skip reason, the allow-list, "already in effect"
(``--apply`` only: idempotency costs no rate budget), the rate limit, then the act. Rate-limit budget is
counted per action run (one alert × one playbook step), persists across invocations through the audit
trail, and only ``disruptive`` actions spend it (``notify`` does not).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cnsec.errors import CnsecError, InputError
from cnsec.model.source import Source
from cnsec.respond.actions import load_actions
from cnsec.respond.actions.base import ActionContext, ApplyResult, Change, Skip
from cnsec.respond.alerts import LoadedAlert
from cnsec.respond.audit import AuditTrail, verify
from cnsec.respond.playbooks import Playbook, PlaybookRule, Step

OUTCOMES = ("planned", "applied", "unchanged", "skipped", "failed")


@dataclass(slots=True)
class Decision:
    outcome: str
    action: str
    playbook_rule: str
    alert: LoadedAlert
    reason: str = ""
    change: Change | None = None
    artifact: str | None = None

    def to_dict(self) -> dict[str, Any]:
        change = self.change
        return {
            "outcome": self.outcome,
            "action": self.action,
            "playbook_rule": self.playbook_rule,
            "alert": {"rule_id": self.alert.alert.rule_id, "key": self.alert.alert.key,
                      "threat_id": self.alert.alert.threat_id, "source": str(self.alert.source)},
            "kind": change.kind if change else None,
            "target": change.target if change else None,
            "subject": change.subject if change else None,
            "description": change.description if change else None,
            "reason": self.reason,
            "artifact": self.artifact,
        }


@dataclass(slots=True)
class RunResult:
    decisions: list[Decision] = field(default_factory=list)
    alerts: int = 0
    matched: int = 0
    artifacts: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    audit_head: str | None = None
    rate_used: int = 0
    finals: dict[str, Callable[[], str]] = field(default_factory=dict)
    parts: dict[str, list[str]] = field(default_factory=dict)

    def counts(self) -> Counter[str]:
        return Counter(d.outcome for d in self.decisions)

    @property
    def failed(self) -> bool:
        return any(d.outcome == "failed" for d in self.decisions)


def _ts(value: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        return None


class Responder:
    def __init__(self, playbook: Playbook, ctx: ActionContext, audit: AuditTrail,
                 clock: Callable[[], float] = time.time) -> None:
        self.playbook = playbook
        self.ctx = ctx
        self.audit = audit
        self.clock = clock
        self.actions = load_actions()
        self.mode = "apply" if ctx.apply else "dry-run"
        self._seen_changes: set[str] = set()  # one decision per distinct change per run

    # -- safety state --------------------------------------------------------------------------------
    def _load_trail(self) -> int:
        """Verify the trail and, in the same pass, read its memory: the applied change ids
        (idempotency) and the rate-limit spends still inside the window (returned).

        Refuse to act on top of a broken trail: its records are that memory, and deleting some would
        buy an attacker more budget."""
        if not self.audit.path.exists():
            return 0
        horizon = self.clock() - self.playbook.rate_limit.window
        spent = 0

        def remember(record: dict[str, Any]) -> None:
            nonlocal spent
            if record.get("mode") != "apply":
                return
            if record.get("outcome") == "applied" and record.get("change_id"):
                self.ctx.applied_change_ids.add(str(record["change_id"]))
            if record.get("rate_counted"):
                ts = _ts(record.get("ts"))
                if ts is not None and ts >= horizon:
                    spent += 1

        outcome = verify(self.audit.path, visit=remember)
        if not outcome.ok:
            raise InputError(f"the audit trail is broken ({outcome.problem}); nothing was done. Keep the "
                             "file as evidence, see `cnsec respond verify`, and start a new trail with "
                             "--audit-log", Source(str(self.audit.path), outcome.line))
        return spent

    def _discover(self, result: RunResult) -> None:
        """Add the cluster's real API-server and DNS service IPs to the allow-list."""
        try:
            kube = self.ctx.kube()
            for ns, name in (("default", "kubernetes"), ("kube-system", "kube-dns")):
                service = kube.read_service(ns, name)
                for ip in ((service or {}).get("spec") or {}).get("clusterIPs") or \
                        [((service or {}).get("spec") or {}).get("clusterIP")]:
                    if ip and ip != "None":
                        self.playbook.allow_list.add_cidr(ip)
        except Exception as exc:  # no cluster: the static defaults still apply
            result.notes.append(f"allow-list discovery from the cluster skipped: {exc}")

    # -- the run ---------------------------------------------------------------------------------------
    def run(self, alerts: list[LoadedAlert]) -> RunResult:
        result = RunResult(alerts=len(alerts))
        spent = self._load_trail()
        self.ctx.guard = self.playbook.allow_list.refuse
        if self.ctx.apply and self.playbook.allow_list.discover and self._needs_cluster():
            self._discover(result)
        budget = {"spent": spent}
        with contextlib.ExitStack() as stack:
            if not self.ctx.apply:
                stack.enter_context(self.audit.batch())
            self._run_alerts(alerts, budget, result)
        result.rate_used = budget["spent"] - spent
        for name, render in result.finals.items():
            result.artifacts[name] = render()
        for name, parts in result.parts.items():
            result.artifacts[name] = "".join(parts)
        return result

    def _run_alerts(self, alerts: list[LoadedAlert], budget: dict[str, int], result: RunResult) -> None:
        for loaded in alerts:
            rules = self.playbook.matching(loaded.alert)
            if rules:
                result.matched += 1
            seen: set[str] = set()
            for rule in rules:
                for step in rule.steps:
                    fingerprint = json.dumps([step.action, step.params], sort_keys=True, default=str)
                    if fingerprint in seen:
                        continue
                    seen.add(fingerprint)
                    self._run_step(loaded, rule, step, budget, result)

    def _needs_cluster(self) -> bool:
        return any(step.action != "notify" for rule in self.playbook.rules for step in rule.steps)

    def _execution_id(self, loaded: LoadedAlert, rule: PlaybookRule, step: Step) -> str:
        a = loaded.alert
        blob = json.dumps([a.rule_id, a.key, a.first_seen, a.last_seen, rule.name, step.action,
                           step.params], sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def _record(self, result: RunResult, decision: Decision, execution: str,
                rate_counted: bool = False) -> None:
        result.decisions.append(decision)
        change = decision.change
        a = decision.alert.alert
        entry: dict[str, Any] = {
            "mode": self.mode,
            "outcome": decision.outcome,
            "action": decision.action,
            "kind": change.kind if change else None,
            "target": change.target if change else None,
            "subject": change.subject if change else None,
            "reason": decision.reason,
            "playbook": self.playbook.path,
            "playbook_rule": decision.playbook_rule,
            "execution": execution,
            "change_id": change.change_id if change else None,
            "artifact_sha256": hashlib.sha256(decision.artifact.encode()).hexdigest()
            if decision.artifact else None,
            "alert": {"rule_id": a.rule_id, "threat_id": a.threat_id, "severity": a.severity.label,
                      "key": a.key, "first_seen": a.first_seen, "last_seen": a.last_seen, "count": a.count,
                      "source": str(decision.alert.source)},
        }
        if rate_counted:
            entry["rate_counted"] = True
        record = self.audit.append(entry)
        result.audit_head = str(record["hash"])
        if decision.artifact is not None and change is not None \
                and decision.outcome in ("planned", "applied"):
            if change.final is not None:  # rendered once, at the end of the run
                result.finals[change.artifact_name] = change.final
                result.artifacts.setdefault(change.artifact_name, "")
            elif change.artifact_mode == "append":  # joined once at the end (no quadratic concatenation)
                result.artifacts.setdefault(change.artifact_name, "")
                result.parts.setdefault(change.artifact_name, []).append(decision.artifact)
            else:
                result.artifacts[change.artifact_name] = decision.artifact

    def _run_step(self, loaded: LoadedAlert, rule: PlaybookRule, step: Step, budget: dict[str, int],
                  result: RunResult) -> None:
        action = self.actions[step.action]
        execution = self._execution_id(loaded, rule, step)
        limit = self.playbook.rate_limit

        def decide(outcome: str, reason: str = "", change: Change | None = None,
                   artifact: str | None = None, rate_counted: bool = False) -> None:
            self._record(result, Decision(outcome, step.action, rule.name, loaded, reason, change, artifact),
                         execution, rate_counted)

        if not self.ctx.apply and action.disruptive and budget["spent"] >= limit.max_actions:
            decide("skipped", self._rate_reason())
            return
        try:
            changes = action.plan(loaded.alert, step.params, self.ctx)
        except Skip as exc:
            decide("skipped", str(exc))
            return
        except Exception as exc:
            decide("failed", f"planning failed: {_describe(exc)}")
            return
        spent_here = False
        for change in changes:
            if change.change_id in self._seen_changes:
                continue  # two playbook rules asked for the very same change
            self._seen_changes.add(change.change_id)
            refused = change.skip_reason or self.playbook.allow_list.refuse(change)
            if refused:
                decide("skipped", refused, change)
                continue
            if not self.ctx.apply:
                if action.disruptive and not spent_here:
                    spent_here = True
                    budget["spent"] += 1
                decide("planned", change.description, change, change.artifact)
                continue
            try:
                if action.in_effect(change, self.ctx):
                    decide("unchanged", "already in effect", change)
                    continue
            except Exception as exc:
                decide("failed", f"reading the current state failed: {_describe(exc)}", change)
                continue
            first_spend = False
            if action.disruptive and not spent_here:
                if budget["spent"] >= limit.max_actions:
                    decide("skipped", self._rate_reason(), change)
                    continue
                spent_here = first_spend = True
                budget["spent"] += 1
            try:
                outcome: ApplyResult = action.apply(change, self.ctx)
            except Skip as exc:  # found out only now that it does not apply (e.g. no such user there)
                if first_spend:
                    budget["spent"] -= 1
                    spent_here = False
                decide("skipped", str(exc), change)
                continue
            except Exception as exc:
                decide("failed", _describe(exc), change, rate_counted=first_spend)
                continue
            if first_spend and not outcome.changed:  # nothing was changed after all: no budget spent
                budget["spent"] -= 1
                spent_here = first_spend = False
            decide("applied" if outcome.changed else "unchanged", outcome.detail, change,
                   outcome.artifact or change.artifact if outcome.changed else None, rate_counted=first_spend)

    def _rate_reason(self) -> str:
        limit = self.playbook.rate_limit
        return (f"rate limit: {limit.max_actions} disruptive action(s) per {limit.window:g}s already used "
                "(counted from the audit trail)")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, CnsecError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
