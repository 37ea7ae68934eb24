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


def render_bytes(report: Report) -> bytes:
    """UTF-8 JSON from orjson (the stdlib encoder takes seconds on tens of MB), with no round trip
    through a possibly huge ``str``; orjson is a dependency, the stdlib path only a fallback."""
    try:
        import orjson
    except ImportError:  # pragma: no cover
        return (json.dumps(to_dict(report), indent=2, default=str) + "\n").encode()
    data: bytes = orjson.dumps(to_dict(report), default=str,
                               option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE)
    return data


def render(report: Report) -> str:
    return render_bytes(report).decode()
