"""Request bodies → event lines (one JSON object each), or a clear 400 naming what is wrong and where.

A request is taken whole or not at all: a client that is told "line 7 is not JSON" fixes and resends
the batch, and nothing it sent before is stored twice.
"""

from __future__ import annotations

from typing import Any

import orjson

from cnsec.serve.errors import ApiError

#: The source each queue row's kind is read as. ``events`` requests are split by the source each line
#: is sniffed as (``cnsec detect``'s own sniffing), one row per source, so each is its own stream.
SOURCE = {"k8s-audit": "k8s-audit", "falco": "falco", "cloudtrail": "cloudtrail", "gcp-audit": "gcp-audit",
          "json": "json", "events": None}
#: Most problems listed in one answer (the count says how many there were).
MAX_LISTED = 20


def _load(body: bytes, what: str) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"{what}: not JSON ({exc})", code="bad_json") from None


def k8s_audit(body: bytes) -> list[bytes]:
    """The API server's audit webhook body: an ``audit.k8s.io`` ``EventList`` (batch mode), or one
    ``Event`` (blocking mode)."""
    doc = _load(body, "audit webhook body")
    if isinstance(doc, dict) and doc.get("kind") == "Event":
        doc = {"kind": "EventList", "items": [doc]}
    if not isinstance(doc, dict) or doc.get("kind") != "EventList" or not isinstance(doc.get("items"), list):
        raise ApiError(400, "audit webhook body: expected an audit.k8s.io EventList with an items list")
    items: list[Any] = doc["items"]
    bad = [i for i, item in enumerate(items) if not isinstance(item, dict)]
    if bad:
        raise ApiError(400, f"audit webhook body: {len(bad)} item(s) are not objects, first items[{bad[0]}]",
                       detail={"items": bad[:MAX_LISTED]})
    return [orjson.dumps(item) for item in items]


def falco(body: bytes) -> list[bytes]:
    """Falco's JSON output (``json_output: true``) as falcosidekick's webhook output posts it: one
    event per request, or a list of them."""
    doc = _load(body, "falco body")
    events = doc if isinstance(doc, list) else [doc]
    bad = [i for i, e in enumerate(events) if not (isinstance(e, dict) and "rule" in e and "output" in e)]
    if bad:
        raise ApiError(400, f"falco body: {len(bad)} event(s) lack Falco's rule/output fields, "
                            f"first at index {bad[0]}", detail={"events": bad[:MAX_LISTED]})
    return [orjson.dumps(e) for e in events]


def json_lines(body: bytes) -> list[bytes]:
    """JSON lines of any source ``cnsec detect`` reads; blank lines are allowed."""
    return [line for lines in json_lines_by_source(body).values() for line in lines]


def json_lines_by_source(body: bytes) -> dict[str, list[bytes]]:
    """:func:`json_lines`, grouped by the source each line is (a mixed request of audit records and
    CloudTrail is two streams, as two files would be to ``cnsec detect``)."""
    from cnsec.detect import sniff_source

    out: dict[str, list[bytes]] = {}
    bad: list[dict[str, Any]] = []
    for number, line in enumerate(body.split(b"\n"), start=1):
        line = line.strip()
        if not line:
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            bad.append({"line": number, "error": f"not JSON ({exc})"})
            continue
        if not isinstance(obj, dict):
            bad.append({"line": number, "error": "not a JSON object"})
            continue
        out.setdefault(sniff_source(obj), []).append(line)
    if bad:
        raise ApiError(400, f"events: {len(bad)} bad line(s), first line {bad[0]['line']}: {bad[0]['error']}",
                       detail={"lines": bad[:MAX_LISTED], "count": len(bad)})
    return out


PARSERS = {"k8s-audit": k8s_audit, "falco": falco, "events": json_lines}
