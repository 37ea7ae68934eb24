"""The JSON contract (``docs/json-schema.md``): versioned by ``schema``."""

from __future__ import annotations

import json
from typing import Any

from cnsec import __version__
from cnsec.model.report import Report


def to_dict(report: Report) -> dict[str, Any]:
    data: dict[str, Any] = {
        "schema": report.schema,
        "tool": {"name": "cnsec", "version": __version__},
        "target": report.target,
        "summary": report.summary(),
    }
    if report.kind == "assessment":
        data["assets"] = [a.to_dict() for a in report.assets]
        data["threats"] = [t.to_dict() for t in report.threats]
    data["findings"] = [f.to_dict() for f in report.findings]
    if report.kind == "assessment":
        data["risks"] = [r.to_dict() for r in report.risks]
        data["plan"] = [p.to_dict() for p in report.plan]
    data["errors"] = [e.to_dict() for e in report.errors]
    return data


def render(report: Report) -> str:
    return json.dumps(to_dict(report), indent=2, sort_keys=False, default=str) + "\n"
