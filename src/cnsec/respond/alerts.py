"""Read alerts back from JSON lines (``cnsec detect -f jsonl``: the shape of ``Alert.to_dict()``).

Responding to half-understood input is worse than not responding, so a bad line stops the run before
any action: every bad line is collected and the first is reported with its file:line.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cnsec.errors import InputError
from cnsec.model.event import Alert
from cnsec.model.severity import Severity
from cnsec.model.source import Source


@dataclass(slots=True)
class LoadedAlert:
    alert: Alert
    source: Source


def parse_time(value: Any, name: str) -> float:
    """RFC 3339 / ISO 8601 (``Z`` or an offset; naive means UTC) or epoch seconds."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a timestamp, not a boolean")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"{name} is not a finite number")
        return float(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{name} {value!r} is not an RFC 3339 timestamp") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.timestamp()
    raise ValueError(f"{name} must be an RFC 3339 string or epoch seconds")


def _str(obj: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = obj.get(name)
    if value is None:
        if required:
            raise ValueError(f"missing required field {name!r}")
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name!r} must be a string")
    if required and not value:
        raise ValueError(f"{name!r} must not be empty")
    return value


def alert_from_dict(obj: Any) -> Alert:
    """The inverse of :meth:`Alert.to_dict`; raises ``ValueError`` saying which field is wrong."""
    if not isinstance(obj, dict):
        raise ValueError("an alert must be a JSON object")
    rule_id = _str(obj, "rule_id")
    key = _str(obj, "key")
    assert rule_id is not None and key is not None
    title = _str(obj, "title", required=False) or rule_id
    threat_id = _str(obj, "threat_id", required=False) or None
    action = _str(obj, "action", required=False) or None
    if "severity" not in obj:
        raise ValueError("missing required field 'severity'")
    if not isinstance(obj["severity"], str):
        raise ValueError("'severity' must be a string")
    severity = Severity.parse(obj["severity"])
    for name in ("first_seen", "last_seen"):
        if name not in obj:
            raise ValueError(f"missing required field {name!r}")
    first_seen = parse_time(obj["first_seen"], "first_seen")
    last_seen = parse_time(obj["last_seen"], "last_seen")
    if last_seen < first_seen:
        raise ValueError("last_seen is before first_seen")
    count = obj.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError("'count' must be a positive integer")
    attack = obj.get("attack_ids") or []
    if not isinstance(attack, list) or not all(isinstance(a, str) for a in attack):
        raise ValueError("'attack_ids' must be a list of strings")
    evidence = obj.get("evidence") or []
    if not isinstance(evidence, list):
        raise ValueError("'evidence' must be a list")
    return Alert(rule_id=rule_id, title=title, severity=severity, threat_id=threat_id, key=key,
                 first_seen=first_seen, last_seen=last_seen, evidence=evidence, count=count,
                 action=action, attack_ids=tuple(attack))


def parse_alert_lines(lines: Iterable[str | bytes], name: str) -> list[LoadedAlert]:
    """Parse JSON lines; blank lines are skipped. Raises :class:`InputError` at the first bad line
    (its message says how many other lines were bad too)."""
    result: list[LoadedAlert] = []
    errors: list[InputError] = []
    for number, raw in enumerate(lines, 1):
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        if not text.strip():
            continue
        source = Source(name, number)
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            errors.append(InputError(f"not valid JSON: {exc.msg} (column {exc.colno})", source))
            continue
        try:
            result.append(LoadedAlert(alert_from_dict(obj), source))
        except ValueError as exc:
            errors.append(InputError(f"bad alert: {exc}", source))
    if errors:
        first = errors[0]
        if len(errors) > 1:
            first.message += f" (and {len(errors) - 1} more bad line(s); nothing was done)"
        else:
            first.message += " (nothing was done)"
        raise first
    return result


def load_alerts(path: str) -> list[LoadedAlert]:
    """``path`` is a JSON-lines file, or ``-`` for standard input."""
    if path == "-":
        return parse_alert_lines(sys.stdin, "<stdin>")
    try:
        with Path(path).open("rb") as handle:
            return parse_alert_lines(handle, path)
    except FileNotFoundError:
        raise InputError("alerts file not found", Source(path)) from None
    except IsADirectoryError:
        raise InputError("is a directory, expected a JSON-lines alerts file", Source(path)) from None
