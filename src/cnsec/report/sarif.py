"""SARIF 2.1.0 as GitHub code scanning accepts it.

Rules carry ``help`` and ``properties.security-severity``; results carry a physical location and
``partialFingerprints`` built from the finding id, which does not move when lines move.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cnsec import __version__
from cnsec.model.finding import InputProblem
from cnsec.model.report import Report, RuleInfo
from cnsec.report.notices import notes as run_notes

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

#: ``runs[].automationDetails.id`` per command: code scanning keeps one set of results per category
#: (the id up to its last ``/``), so the assessment, the secret scan, the RBAC audit and the
#: vulnerability scan of one commit replace their own earlier upload, never each other's.
AUTOMATION_IDS = {
    "assessment": "cnsec/assess/",
    "secrets": "cnsec/scan/",
    "rbac-audit": "cnsec/iam-audit/",
    "vulns": "cnsec/vulns/",
}


def automation_id(report: Report) -> str:
    return AUTOMATION_IDS.get(report.kind, f"cnsec/{report.kind}/")


def _uri(path: str) -> str:
    """A URI reference (RFC 3986): a space, ``#``, ``%`` or non-ASCII in a file name is percent-encoded,
    or code scanning would cut the path at ``#`` or reject it."""
    from urllib.parse import quote

    if path.startswith("cluster://"):  # a live object (helper live, #14): already a URI; Path would eat a '/'
        return quote(path, safe="/:%")
    p = Path(path)
    if p.is_absolute():
        try:
            return quote(p.relative_to(Path.cwd()).as_posix(), safe="/")
        except ValueError:
            return p.as_uri()
    return quote(p.as_posix(), safe="/")


def _rule(info: RuleInfo) -> dict[str, Any]:
    help_text = info.remediation or info.title
    peers = ", ".join(f"{k}: {' '.join(v)}" for k, v in info.equivalents.items() if v)
    markdown = f"**{info.title}**\n\n{info.description}\n\n**Fix:** {info.remediation}".strip()
    if peers:
        markdown += f"\n\nEquivalent peer checks: {peers}"
    return {
        "id": info.id,
        "name": "".join(w.capitalize() for w in info.title.replace("/", " ").split() if w.isalnum()),
        "shortDescription": {"text": info.title},
        "fullDescription": {"text": info.description or info.title},
        "help": {"text": help_text, "markdown": markdown},
        "defaultConfiguration": {"level": info.severity.sarif_level},
        "properties": {
            "security-severity": info.severity.security_severity,
            "tags": ["security", *info.threat_ids],
            "precision": "high",
        },
    }


def _notification(problem: InputProblem, level: str) -> dict[str, Any]:
    """An input error (``error``) or a skipped input (``note``), where it is."""
    return {
        "level": level,
        "message": {"text": problem.message},
        "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": _uri(problem.file)},
            **({"region": {"startLine": problem.line}} if problem.line else {}),
        }}],
    }


def to_dict(report: Report) -> dict[str, Any]:
    rule_ids = sorted({f.check_id for f in report.findings})
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    for rid in rule_ids:
        info = report.rules.get(rid)
        if info is None:
            sample = next(f for f in report.findings if f.check_id == rid)
            info = RuleInfo(id=rid, title=sample.title, severity=sample.severity,
                            remediation=sample.remediation, threat_ids=sample.threat_ids)
        index[rid] = len(rules)
        rules.append(_rule(info))
    results = []
    for f in report.findings:
        region: dict[str, Any] = {"startLine": f.source.line or 1}
        result: dict[str, Any] = {
            "ruleId": f.check_id,
            "ruleIndex": index[f.check_id],
            "level": f.severity.sarif_level,
            "message": {"text": f"{f.message} ({f.asset_id})"},
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": {"uri": _uri(f.source.file)},
                    "region": region,
                },
                "logicalLocations": [{"name": f.asset_id, "kind": "resource"}],
            }],
            "partialFingerprints": {"cnsecFindingId/v1": f.id},
            "properties": {"security-severity": f.severity.security_severity,
                           "threat_ids": list(f.threat_ids)},
        }
        if f.suppressed:
            result["suppressions"] = [{"kind": "inSource" if f.suppression_reason else "external",
                                       "justification": f.suppression_reason or ""}]
        results.append(result)
    invocation: dict[str, Any] = {"executionSuccessful": True}
    notes = [_notification(e, "error") for e in report.errors]
    notes += [_notification(e, "note") for e in report.skipped]
    notes += [{"level": "warning", "message": {"text": note}} for note in run_notes(report)]
    if notes:
        invocation["toolExecutionNotifications"] = notes
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "cnsec",
                "version": __version__,
                "informationUri": "https://github.com/cnsec/cnsec",
                "rules": rules,
            }},
            "automationDetails": {"id": automation_id(report)},
            "invocations": [invocation],
            "results": results,
        }],
    }


def render(report: Report) -> str:
    return json.dumps(to_dict(report), indent=2) + "\n"
