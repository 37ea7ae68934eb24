"""The JSON contract (``docs/json-schema.md``): versioned by ``schema``."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sys
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
        from cnsec.report.notices import nothing_assessed

        data["summary"]["nothing_assessed"] = nothing_assessed(report)
        data["config"] = report.config
        data["assets"] = [a.to_dict() for a in report.assets]
        data["threats"] = [t.to_dict() for t in report.threats]
    data["findings"] = [f.to_dict() for f in report.findings] if findings is None else findings
    if report.kind == "assessment":
        data["risks"] = [r.to_dict() for r in report.risks]
        data["plan"] = [p.to_dict() for p in report.plan]
    data["errors"] = [e.to_dict() for e in report.errors]
    if report.kind == "assessment" or report.skipped:
        data["skipped"] = [e.to_dict() for e in report.skipped]
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
    if _AHEAD is not None:
        # the rest of the document first, while the child may still be rendering the findings
        marker = f"cnsec-prerendered-{secrets.token_hex(16)}"
        doc = orjson.dumps(to_dict(report, findings=marker), default=str, option=_options())
        ahead = _take_prerendered(report.findings)
        quoted = b'"' + marker.encode() + b'"'
        at = doc.find(quoted)
        if ahead is not None and at >= 0:
            view = memoryview(doc)
            return [view[:at], *ahead, view[at + len(quoted):]]
    return [orjson.dumps(to_dict(report), default=str, option=_options())]


def render(report: Report) -> str:
    return render_bytes(report).decode()


# ---------------------------------------------------------------- rendering findings ahead of time
#: Below this many findings rendering them takes milliseconds: not worth a process.
PRERENDER_MIN = 2000


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

    try:
        fd, path = tempfile.mkstemp(prefix="cnsec-json-")
    except OSError:  # no writable temporary folder: render as usual
        return
    os.unlink(path)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        pid = os.fork()
    except OSError:  # out of processes or memory: render as usual
        os.close(fd)
        return
    if pid == 0:  # pragma: no cover - the child; its work is checked through render_bytes
        code = 1
        try:
            _write_items(fd, findings)
            code = 0
        finally:
            os._exit(code)
    _AHEAD = _Ahead(list(findings), pid, fd)


def _write_items(fd: int, findings: list[Finding]) -> None:
    """The whole findings array, indented as in the document, in one orjson call."""
    import orjson

    array_text = orjson.dumps([f.to_dict() for f in findings], default=str,
                              option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)
    # one level deeper in the document; JSON strings hold no raw newline, so this touches only layout
    view = memoryview(array_text.replace(b"\n", b"\n  "))
    while view:
        view = view[os.write(fd, view):]


#: Where each finding starts in the array: ``{`` at the items' indentation (nested values sit deeper).
_ITEM_START = b"\n    {"
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
        body = memoryview(data)
        done = 0
        while done < len(data):
            n = os.preadv(ahead.fd, [body[done:]], done)
            if n <= 0:
                return None
            done += n
    finally:
        os.close(ahead.fd)
    if not (data.startswith(_OPEN) and data.endswith(_CLOSE)):
        return None
    if wanted == list(range(len(ahead.findings))):
        return [body]
    # a baseline left some out: cut the array into its items (each from its '{' to before the next
    # separator) and keep the wanted ones
    starts = []
    at = data.find(_ITEM_START)
    while at >= 0:
        starts.append(at + 1)
        at = data.find(_ITEM_START, at + 1)
    if len(starts) != len(ahead.findings):
        return None
    ends = [s - len(_SEP) for s in starts[1:]] + [len(data) - len(_CLOSE)]
    pieces: list[bytes | memoryview] = [_OPEN]
    for k, i in enumerate(wanted):
        if k:
            pieces.append(_SEP)
        assert i is not None
        pieces.append(body[starts[i]:ends[i]])
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
