"""``.cnsec.yaml``: suppressions with reasons (and expiry), asset overrides, check selection."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from cnsec.config_file import display, load_document, locate
from cnsec.config_file import read_text as _read
from cnsec.errors import ConfigError
from cnsec.model.source import Source

#: Top-level sections of ``.cnsec.yaml`` that belong to other commands (``scan:`` is ``cnsec data scan``'s).
OTHER_PILLARS = frozenset({"scan", "detect", "iam", "data", "respond"})


@dataclass(frozen=True, slots=True)
class IgnoreRule:
    check: str
    reason: str
    asset: str = "*"
    file: str = "*"
    expires: dt.date | None = None
    line: int | None = None

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and today > self.expires


@dataclass(frozen=True, slots=True)
class AssetRule:
    match: str
    criticality: str | None = None
    data_classes: tuple[str, ...] | None = None
    exposure: str | None = None


@dataclass(slots=True)
class Config:
    path: str | None = None
    ignore: list[IgnoreRule] = field(default_factory=list)
    assets: list[AssetRule] = field(default_factory=list)
    skip_checks: set[str] = field(default_factory=set)
    only_checks: set[str] = field(default_factory=set)
    allowed_registries: tuple[str, ...] = ()
    #: globs of files/folders under the inputs to leave out (``exclude:`` here, ``--exclude`` on the CLI)
    exclude: tuple[str, ...] = ()


def _date(value: Any, src: Source) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"expires must be a date like 2027-01-31, not {value!r}", src) from None


def _line(node: Any) -> int | None:
    return getattr(node, "line", None) or None


def _key_line(mapping: Any, key: str) -> int | None:
    lines = getattr(mapping, "key_lines", None)
    return lines.get(key) if isinstance(lines, dict) else None


def _type_name(value: Any) -> str:
    """YAML's words for a value's type, not Python's (a user never wrote a ``LineDict``)."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _list_of(mapping: Any, key: str, path: str, prefix: str = "") -> list[Any]:
    """``mapping[key]`` as a list: absent or empty is ``[]``, any other type is a ConfigError."""
    value = mapping.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{prefix}{key} must be a list, not {_type_name(value)}",
                          Source(path, _key_line(mapping, key)))
    return value


def parse_config(text: str, path: str) -> Config:
    raw: Any = load_document(text, path)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError("the configuration must be a mapping", Source(path, 1))
    cfg = Config(path=path)
    known = {"ignore", "assets", "checks", "allowed_registries", "exclude"}
    for key in raw:
        if key in OTHER_PILLARS:
            continue  # one .cnsec.yaml for the whole repo: other pillars read their own sections
        if key not in known:
            raise ConfigError(f"unknown key {key!r} (expected one of {', '.join(sorted(known))})",
                              Source(path, raw.key_lines.get(key) if hasattr(raw, "key_lines") else None))
    for entry in _list_of(raw, "ignore", path):
        src = Source(path, _line(entry))
        if not isinstance(entry, dict) or not entry.get("check"):
            raise ConfigError("each ignore entry needs a 'check' id", src)
        for name in ("check", "reason", "asset", "file"):
            if entry.get(name) is not None and not isinstance(entry[name], str):
                raise ConfigError(f"ignore {name} must be a string, not {_type_name(entry[name])}", src)
        # no reason: kept, and reported as not applied when the run applies the configuration —
        # the run goes on, as it does for an annotation without a reason
        reason = str(entry.get("reason") or "").strip()
        cfg.ignore.append(IgnoreRule(check=str(entry["check"]), reason=reason,
                                     asset=str(entry.get("asset", "*")), file=str(entry.get("file", "*")),
                                     expires=_date(entry.get("expires"), src), line=src.line))
    for entry in _list_of(raw, "assets", path):
        src = Source(path, _line(entry))
        if not isinstance(entry, dict) or not entry.get("match"):
            raise ConfigError("each assets entry needs a 'match' (an asset id or glob)", src)
        crit = entry.get("criticality")
        if crit is not None and crit not in ("high", "medium", "low"):
            raise ConfigError(f"criticality must be high, medium or low, not {crit!r}", src)
        exp = entry.get("exposure")
        if exp is not None and exp not in ("internet", "cluster", "none"):
            raise ConfigError(f"exposure must be internet, cluster or none, not {exp!r}", src)
        dc = entry.get("data_classes")
        if dc is not None and not (isinstance(dc, list) and all(isinstance(x, str) for x in dc)):
            raise ConfigError(f"data_classes must be a list of names, not {dc!r}", src)
        cfg.assets.append(AssetRule(match=str(entry["match"]), criticality=crit,
                                    data_classes=tuple(str(x) for x in dc) if isinstance(dc, list) else None,
                                    exposure=exp))
    checks = raw.get("checks") or {}
    if not isinstance(checks, dict):
        raise ConfigError("checks must be a mapping with 'skip' and/or 'only' lists",
                          Source(path, _key_line(raw, "checks")))
    for key in checks:
        if key not in ("skip", "only"):
            raise ConfigError(f"unknown key checks.{key} (expected only, skip)",
                              Source(path, _key_line(checks, key)))
    cfg.skip_checks = {str(x) for x in _list_of(checks, "skip", path, "checks.")}
    cfg.only_checks = {str(x) for x in _list_of(checks, "only", path, "checks.")}
    cfg.exclude = tuple(str(x) for x in _list_of(raw, "exclude", path))
    regs = _list_of(raw, "allowed_registries", path)
    cfg.allowed_registries = tuple(str(r) for r in regs)
    return cfg


def find_config(targets: list[str], explicit: str | None) -> Config:
    """The configuration of a run (see :func:`cnsec.config_file.locate` for where it is looked for)."""
    path = locate(targets, explicit)
    if path is None:
        return Config()
    return parse_config(_read(path), explicit or display(path))
