"""Alert output: jsonl for machines (``cnsec respond`` reads it), json, and table/markdown for people."""

from __future__ import annotations

from typing import Any

from cnsec.detect.alerts import alert_dict
from cnsec.detect.fields import EVIDENCE_DEPTH, limit_depth
from cnsec.model.event import Alert
from cnsec.report.safe import one_line, printable


def jsonl_line(alert: Alert) -> str:
    return jsonl_bytes(alert).decode()


def jsonl_bytes(alert: Alert) -> bytes:
    """:func:`jsonl_line` encoded (UTF-8), for binary output: no decode and re-encode per alert.

    Events read from JSON only have string keys, and orjson writes those twice as fast without
    ``OPT_NON_STR_KEYS``; an alert whose evidence has other keys is written with it, the same text."""
    import orjson

    d = alert_dict(alert)
    try:
        return orjson.dumps(d, option=orjson.OPT_APPEND_NEWLINE)
    except TypeError:  # non-string keys, or evidence nested deeper than orjson writes
        d["evidence"] = limit_depth(d["evidence"])
        return orjson.dumps(d, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE)


def render_json(alerts: list[Alert], stats: dict[str, Any], errors: list[dict[str, Any]]) -> str:
    import orjson

    rows = [alert_dict(a) for a in alerts]
    doc = {"schema": "cnsec.alerts/v1", "alerts": rows, "stats": stats, "errors": errors}
    try:
        return orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode() + "\n"
    except TypeError:  # evidence nested deeper than orjson writes
        for d in rows:
            d["evidence"] = limit_depth(d["evidence"], EVIDENCE_DEPTH - 3)  # the alert list adds levels
        return orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode() + "\n"


def _short_time(d: dict[str, Any], key: str) -> str:
    return str(d[key]).replace("T", " ")[:19]


#: Room for the rule, title and key columns at full width; a narrower window shrinks them, cutting
#: text with an ellipsis: title and key first, the rule id (what a reader greps for) last.
_WIDE = (20, 48, 40)
#: severity, the spaces between columns and " x1234": what every row needs besides the time.
_FIXED = 8 + 1 + 2 + 1 + 1 + 1 + 6
#: Below this width the first-seen time drops its year (``12-07 04:35:06``).
_NARROW = 100


def _columns(width: int | None) -> tuple[int, int, int, int]:
    """(time, rule, title, key) widths for a row of ``width`` (default: the window's)."""
    from cnsec.report.console import fit_widths
    from cnsec.report.console import width as window

    width = window() if width is None else width
    clock = 19 if width >= _NARROW else 14
    room = width - _FIXED - clock
    if room >= sum(_WIDE):
        return (clock, *_WIDE)
    rule = min(_WIDE[0], max(room - 24, 4))
    title, key = fit_widths(_WIDE[1:], 0, room - rule)
    return clock, rule, title, key


def table_row(alert: Alert, width: int | None = None) -> str:
    """Keys come from the logs (a user name, a path): escapes are shown, never sent to the terminal,
    and a newline in one cannot start a row of its own. Fits ``width`` (default: the window's)."""
    from cnsec.report.console import fit

    clock, rule, title, key = _columns(width)
    d = alert.to_dict()
    return (f"{d['severity']:<8} {_short_time(d, 'first_seen')[-clock:]}  {fit(one_line(alert.rule_id), rule):<{rule}} "
            f"{fit(one_line(alert.title), title):<{title}} {fit(one_line(alert.key), key):<{key}} "
            f"x{alert.count}")


def render_table(alerts: list[Alert], stats: dict[str, Any], width: int | None = None) -> str:
    """Severity names lower-case, as in every other cnsec table."""
    import textwrap

    from cnsec.report.console import width as window

    clock, rule, title, key = _columns(width)
    lines = [f"{'SEVERITY':<8} {'FIRST SEEN':<{clock}}  {'RULE':<{rule}} {'TITLE':<{title}} {'KEY':<{key}} COUNT"]
    lines += [table_row(a, width) for a in alerts]
    lines.append("")
    lines += textwrap.wrap(_summary(alerts, stats), window() if width is None else width)
    return "\n".join(lines) + "\n"


def _summary(alerts: list[Alert], stats: dict[str, Any]) -> str:
    from cnsec.model.severity import Severity

    by: dict[Severity, int] = {}
    for a in alerts:
        by[a.severity] = by.get(a.severity, 0) + 1
    sev = ", ".join(f"{k.label}: {v}" for k, v in sorted(by.items(), reverse=True))  # worst first
    unreadable = f", {stats['unreadable']} inputs unreadable" if stats.get("unreadable") else ""
    return (f"{len(alerts)} alerts ({sev or 'none'}) from {stats.get('events', 0)} events, "
            f"{stats.get('rules', 0)} rules; {stats.get('malformed', 0)} malformed lines{unreadable}")


def _md(text: str) -> str:
    return printable(text).replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _code(text: str) -> str:
    """An inline code span that a key from the logs cannot break out of."""
    return "`" + _md(text).replace("`", "'") + "`"


def render_markdown(alerts: list[Alert], stats: dict[str, Any]) -> str:
    out = ["# cnsec detection report", "", _summary(alerts, stats), ""]
    if alerts:
        out += ["| Severity | Rule | Title | Threat | Key | First seen | Last seen | Count |",
                "|---|---|---|---|---|---|---|---|"]
        for a in alerts:
            d = a.to_dict()
            out.append(f"| {d['severity']} | {_code(a.rule_id)} | {_md(a.title)} | {_md(a.threat_id or '')} | "
                       f"{_code(a.key)} | {d['first_seen']} | {d['last_seen']} | {a.count} |")
    return "\n".join(out) + "\n"
