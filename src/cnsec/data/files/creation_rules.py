"""Which keys seal a file when ``cnsec data encrypt`` is given none: the ``data.creation_rules`` of
``.cnsec.yaml``, as SOPS users know them from ``.sops.yaml``.

    data:
      creation_rules:
        - path: "secrets/*.yaml"         # glob on the path relative to the .cnsec.yaml's folder
          keys: [app-data]               # keyring names, vault:NAME, awskms:KEY_ID
          only: ["**/password"]          # optional: --values seals only these paths
        - path: "*"                      # a catch-all, if you want one
          recipients: [ops.pub]

The first rule whose ``path`` matches wins; a file no rule matches still needs ``--key`` or
``--recipient``. Keeping the choice in the repository means every teammate seals a file to the same
keys without remembering flags, and a reviewer sees which key guards which file.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from cnsec.errors import ConfigError
from cnsec.model.source import Source


@dataclass(frozen=True, slots=True)
class CreationRule:
    path: str
    keys: tuple[str, ...]
    recipients: tuple[str, ...]
    only: tuple[str, ...]
    origin: str  # "file:line" of the rule, said when it is used

    def matches(self, relative: str) -> bool:
        if fnmatch.fnmatchcase(relative, self.path):
            return True
        # a pattern without a folder matches the file's name anywhere, as in .gitignore
        return "/" not in self.path and fnmatch.fnmatchcase(PurePosixPath(relative).name, self.path)


def _strings(entry: dict[str, Any], name: str, where: Source) -> tuple[str, ...]:
    value = entry.get(name, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"data.creation_rules: {name} must be a list of names", where)
    return tuple(value)


def parse_rules(raw: Any, path: str) -> list[CreationRule]:
    """The rules of a ``.cnsec.yaml`` document (``raw``); a malformed rule is a ConfigError at its line."""
    section = raw.get("data") if isinstance(raw, dict) else None
    rules = section.get("creation_rules") if isinstance(section, dict) else None
    if rules is None:
        return []
    if not isinstance(rules, list):
        raise ConfigError("data.creation_rules must be a list", Source(path))
    out = []
    for entry in rules:
        where = Source(path, getattr(entry, "line", None) or None)
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str) or not entry["path"]:
            raise ConfigError("data.creation_rules: each rule needs a 'path' glob", where)
        unknown = set(entry) - {"path", "key", "keys", "recipients", "only"}
        if unknown:
            raise ConfigError(f"data.creation_rules: unknown key {sorted(unknown)[0]!r} "
                              f"(expected path, keys, recipients, only)", where)
        keys = _strings(entry, "keys", where) + _strings(entry, "key", where)
        recipients = _strings(entry, "recipients", where)
        if not keys and not recipients:
            raise ConfigError("data.creation_rules: a rule needs keys or recipients", where)
        out.append(CreationRule(entry["path"], keys, recipients, _strings(entry, "only", where),
                                f"{path}:{where.line}" if where.line else path))
    return out


def rule_for(file: str, config: str | None = None) -> CreationRule | None:
    """The creation rule for ``file`` from ``config`` (``--config``) or the nearest ``.cnsec.yaml``
    above it; ``None`` when there is no configuration or no rule matches."""
    from cnsec.config_file import display, locate, read_document

    if file == "-":
        return None
    found = locate([file], config)
    if found is None:
        return None
    rules = parse_rules(read_document(str(found)), display(found))
    try:
        relative = Path(file).resolve().relative_to(found.resolve().parent).as_posix()
    except ValueError:
        relative = Path(file).name
    return next((r for r in rules if r.matches(relative)), None)
