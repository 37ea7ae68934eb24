"""The JSON contract (``docs/json-schema.md``): versioned by ``schema``."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sys
from array import array
from dataclasses import dataclass
from typing import Any

from cnsec import __version__
from cnsec.model.finding import Finding
from cnsec.model.report import Report


def to_dict(report: Report, findings: Any = None) -> dict[str, Any]:
    """The JSON document; ``findings`` stands in for the findings list when given (a placeholder
    that :func:`render_bytes` replaces with findings rendered ahead of time)."""
    data: dict[str, Any] = {
        "schema": report.schema,
        "tool": {"name": "cnsec", "version": __version__},
        "target": report.target,
        "summary": report.summary(),
    }
    if report.kind == "assessment":
        data["assets"] = [a.to_dict() for a in report.assets]
        data["threats"] = [t.to_dict() for t in report.threats]
    data["findings"] = [f.to_dict() for f in report.findings] if findings is None else findings
    if report.kind == "assessment":
        data["risks"] = [r.to_dict() for r in report.risks]
        data["plan"] = [p.to_dict() for p in report.plan]
    data["errors"] = [e.to_dict() for e in report.errors]
    return data


def _options() -> int:
    import orjson

    return int(orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE)


def render_bytes(report: Report) -> bytes:
    """UTF-8 JSON from orjson (the stdlib encoder takes seconds on tens of MB), with no round trip
    through a possibly huge ``str``; orjson is a dependency, the stdlib path only a fallback."""
    pieces = render_pieces(report)
    return pieces[0] if len(pieces) == 1 and isinstance(pieces[0], bytes) else b"".join(pieces)


def render_pieces(report: Report) -> list[bytes | memoryview]:
    """:func:`render_bytes` as pieces to write one after the other (no joined copy of a large report).

    Findings rendered ahead of time by :func:`prerender_findings` are spliced in when they are the
    report's findings (the same objects; a baseline may have dropped some), byte for byte what
    rendering them here would give.
    """
    try:
        import orjson
    except ImportError:  # pragma: no cover
        return [(json.dumps(to_dict(report), indent=2, default=str) + "\n").encode()]
    ahead = _take_prerendered(report.findings)
    if ahead is not None:
        marker = f"cnsec-prerendered-{secrets.token_hex(16)}"
        doc = orjson.dumps(to_dict(report, findings=marker), default=str, option=_options())
        quoted = b'"' + marker.encode() + b'"'
        at = doc.find(quoted)
        if at >= 0:
            view = memoryview(doc)
            return [view[:at], *ahead, view[at + len(quoted):]]
    return [orjson.dumps(to_dict(report), default=str, option=_options())]


def render(report: Report) -> str:
    return render_bytes(report).decode()


# ---------------------------------------------------------------- rendering findings ahead of time
#: Below this many findings rendering them takes milliseconds: not worth a process.
PRERENDER_MIN = 2000
#: The findings array is the value of a top-level key: its items sit two levels deep.
_ITEM_INDENT = b"    "


@dataclass
class _Ahead:
    findings: list[Finding]  # the objects rendered, in order
    pid: int
    fd: int


_AHEAD: _Ahead | None = None


def prerender_findings(findings: list[Finding]) -> None:
    """Render the findings' JSON in a forked process while this one goes on (an assessment scores
    risks and builds its plan meanwhile): on a large input that is a tenth of the run, taken off
    its critical path. The findings must not change afterwards, except being left out of the report.

    The child writes into an unlinked temporary file; :func:`render_bytes` waits for it and splices
    the result in. Without ``fork``, or on a small input, nothing happens and rendering is as usual.
    """
    global _AHEAD
    _discard()
    if len(findings) < PRERENDER_MIN or not hasattr(os, "fork"):
        return
    import tempfile

    fd, path = tempfile.mkstemp(prefix="cnsec-json-")
    os.unlink(path)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child; its work is checked through render_bytes
        code = 1
        try:
            _write_items(fd, findings)
            code = 0
        finally:
            os._exit(code)
    _AHEAD = _Ahead(list(findings), pid, fd)


def _write_items(fd: int, findings: list[Finding]) -> None:
    """[count][end of each item in the body][body]: the body is the whole findings array, each item
    indented as in the document, so the common case (every finding kept) is one slice."""
    import orjson

    option = orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS
    nl = b"\n" + _ITEM_INDENT
    items = [_ITEM_INDENT + orjson.dumps(f.to_dict(), default=str, option=option).replace(b"\n", nl)
             for f in findings]
    ends = array("Q")
    at = len(_OPEN)
    for item in items:
        at += len(item)
        ends.append(at)
        at += len(_SEP)
    body = _OPEN + _SEP.join(items) + _CLOSE
    payload = len(items).to_bytes(8, "little") + ends.tobytes() + body
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view):]


_OPEN = b"[\n"
_SEP = b",\n"
_CLOSE = b"\n  ]"


def _take_prerendered(findings: list[Finding]) -> list[bytes | memoryview] | None:
    """The findings array rendered ahead of time, as pieces to join, or ``None`` (no child, it
    failed, or these are not the findings it rendered)."""
    global _AHEAD
    ahead, _AHEAD = _AHEAD, None
    if ahead is None:
        return None
    try:
        _, status = os.waitpid(ahead.pid, 0)
        if status != 0:
            return None
        index = {id(f): i for i, f in enumerate(ahead.findings)}
        wanted = [index.get(id(f)) for f in findings]
        if not wanted or any(i is None for i in wanted):
            return None
        data = bytearray(os.fstat(ahead.fd).st_size)
        view = memoryview(data)
        done = 0
        while done < len(data):
            n = os.preadv(ahead.fd, [view[done:]], done)
            if n <= 0:
                return None
            done += n
    finally:
        os.close(ahead.fd)
    count = int.from_bytes(view[:8], "little")
    if count != len(ahead.findings):
        return None
    ends = array("Q")
    ends.frombytes(view[8:8 + 8 * count])
    body = view[8 + 8 * count:]
    if wanted == list(range(count)):
        return [body]
    pieces: list[bytes | memoryview] = [_OPEN]
    for k, i in enumerate(wanted):
        if k:
            pieces.append(_SEP)
        assert i is not None
        start = ends[i - 1] + len(_SEP) if i else len(_OPEN)
        pieces.append(body[start:ends[i]])
    pieces.append(_CLOSE)
    return pieces


def _discard() -> None:
    """Forget a rendering nobody took (its report was not rendered as JSON): reap its process."""
    global _AHEAD
    ahead, _AHEAD = _AHEAD, None
    if ahead is not None:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(ahead.pid, 0)
        os.close(ahead.fd)
