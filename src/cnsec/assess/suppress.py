"""Suppressions, each with a required reason: annotation, inline comment, or ``.cnsec.yaml``.

Suppressed findings stay in the report, marked ``suppressed`` with the reason; they never fail a run.
A repository moving from Checkov keeps its skips: ``# checkov:skip=CKV_AWS_20:reason`` comments and
``checkov.io/skip1: CKV_K8S_20=reason`` annotations suppress the cnsec checks that list that Checkov id
among their ``equivalents`` (the peer id is kept in the reason, so the report says where it came from).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from dataclasses import dataclass

from cnsec.assess.config import Config
from cnsec.model.finding import Finding, InputProblem

ANNOTATION = "cnsec.io/ignore"
_COMMENT = re.compile(r"cnsec:ignore=([A-Za-z0-9_*.-]{1,64})(?:[ \t]+([^\n]{0,300}))?")
_ANNOT_ITEM = re.compile(r"^\s*([A-Za-z0-9_*.-]{1,64})\s*(?:=\s*(.*))?$")
_CHECKOV = re.compile(r"checkov:skip=(CKV2?_[A-Z0-9_]{1,60})(?::([^\n]{0,300}))?")
#: Checkov's annotation keys: checkov.io/skip1, checkov.io/skip2, ...
CHECKOV_ANNOTATION = "checkov.io/skip"
#: peer id (``CKV_K8S_20``) -> the cnsec checks that name it among their equivalents
PeerMap = dict[str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Waiver:
    check: str
    reason: str
    origin: str


def parse_annotation(value: str, origin: str, problems: list[InputProblem], file: str,
                     line: int | None) -> list[Waiver]:
    """``CNSEC-K8S-001=reason; CNSEC-K8S-030=another reason`` (``;`` or newlines between items)."""
    out = []
    for item in re.split(r"[;\n]", value):
        if not item.strip():
            continue
        m = _ANNOT_ITEM.match(item)
        if not m:
            problems.append(InputProblem(file, line, f"cannot read {ANNOTATION} item {item.strip()!r}"))
            continue
        reason = (m.group(2) or "").strip()
        if not reason:
            problems.append(InputProblem(file, line, f"{ANNOTATION}: suppression of {m.group(1)} has no "
                                                     f"reason; it is not applied (write ID=reason)"))
            continue
        out.append(Waiver(m.group(1), reason, origin))
    return out


#: What every ``# cnsec:ignore=ID reason`` comment holds: a file without it has none.
WAIVER_MARK = "cnsec:ignore="
#: ... and every Checkov skip comment
PEER_MARK = "checkov:skip="


def _peer(check: str, reason: str, origin: str, peers: PeerMap) -> list[Waiver]:
    """The waivers of a Checkov skip: one per cnsec check with that equivalent (none: nothing of ours
    is skipped, so nothing is hidden)."""
    return [Waiver(cnsec_id, f"{reason} [checkov:skip={check}]", origin) for cnsec_id in peers.get(check, ())]


def comment_waivers(lines: list[str], start: int, end: int, file: str,
                    problems: list[InputProblem], peers: PeerMap | None = None) -> list[Waiver]:
    """``# cnsec:ignore=ID reason`` (and, with ``peers``, ``# checkov:skip=CKV_ID:reason``) comments
    inside lines [start, end] (1-based, inclusive)."""
    out = []
    lo = max(start - 2, 0)  # a comment on the line just above the resource counts too
    for idx in range(lo, min(end, len(lines))):
        text = lines[idx]
        if "#" not in text or (WAIVER_MARK not in text and PEER_MARK not in text):
            continue
        for m in _COMMENT.finditer(text):
            reason = (m.group(2) or "").strip()
            if not reason:
                problems.append(InputProblem(file, idx + 1, f"cnsec:ignore={m.group(1)} has no reason; "
                                                            f"it is not applied"))
                continue
            out.append(Waiver(m.group(1), reason, f"comment at {file}:{idx + 1}"))
        for m in _CHECKOV.finditer(text) if peers is not None else ():
            reason = (m.group(2) or "").strip()
            if not reason:
                if m.group(1) in (peers or {}):
                    problems.append(InputProblem(file, idx + 1, f"checkov:skip={m.group(1)} has no reason; "
                                                                f"it is not applied (write :reason)"))
                continue
            out += _peer(m.group(1), reason, f"comment at {file}:{idx + 1}", peers or {})
    return out


def checkov_annotation_waivers(annotations: dict[str, object], origin: str, peers: PeerMap,
                               problems: list[InputProblem], file: str, line: int | None) -> list[Waiver]:
    """``checkov.io/skip1: CKV_K8S_20=reason`` annotations."""
    out = []
    for key, value in annotations.items():
        if not str(key).startswith(CHECKOV_ANNOTATION) or not isinstance(value, str):
            continue
        check, _, reason = value.partition("=")
        check, reason = check.strip(), reason.strip()
        if not reason:
            if check in peers:
                problems.append(InputProblem(file, line, f"{key}: skip of {check} has no reason; "
                                                         f"it is not applied (write {check}=reason)"))
            continue
        out += _peer(check, reason, origin, peers)
    return out


def apply_waivers(findings: list[Finding], waivers: list[Waiver]) -> None:
    for f in findings:
        if f.suppressed:
            continue
        for w in waivers:
            if fnmatch.fnmatchcase(f.check_id, w.check):
                f.suppressed = True
                f.suppression_reason = f"{w.reason} ({w.origin})"
                break


def apply_config(findings: list[Finding], config: Config, problems: list[InputProblem],
                 today: dt.date | None = None) -> None:
    today = today or dt.date.today()
    live = []
    for rule in config.ignore:
        if not rule.reason:
            problems.append(InputProblem(config.path or ".cnsec.yaml", rule.line,
                                         f"suppression of {rule.check} has no reason; not applied "
                                         f"(add 'reason: …' saying why the finding is accepted)"))
        elif rule.expired(today):
            problems.append(InputProblem(config.path or ".cnsec.yaml", rule.line,
                                         f"suppression of {rule.check} expired on {rule.expires}; "
                                         f"its findings are reported again"))
        else:
            live.append(rule)
    for f in findings:
        if f.suppressed:
            continue
        for rule in live:
            if fnmatch.fnmatchcase(f.check_id, rule.check) and fnmatch.fnmatchcase(f.asset_id, rule.asset) \
                    and fnmatch.fnmatchcase(f.source.file, rule.file):
                f.suppressed = True
                until = f", until {rule.expires}" if rule.expires else ""
                f.suppression_reason = f"{rule.reason} ({config.path}{until})"
                break
