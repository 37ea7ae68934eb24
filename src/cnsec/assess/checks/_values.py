"""Values as a file writes them, for the checks that judge whether a literal is a secret (Dockerfile
ENV/ARG and Kubernetes env/args alike): the part of a ``${VAR:-default}`` expansion that is written
down, as opposed to what comes from the environment."""

from __future__ import annotations

import re

_DEFAULT = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*:?[-=]([^}]*)\}$")


def shell_default(value: str) -> str | None:
    """The default of a whole-value shell expansion ``${VAR:-default}`` (also ``${VAR-…}``,
    ``${VAR:=…}``), ``""`` for ``${VAR:-}``; ``None`` when ``value`` is not one. The variable is where
    the secret comes from; only a literal default can be a secret written into the file."""
    m = _DEFAULT.match(value.strip())
    return m.group(1).strip().strip("\"'") if m else None


def literal_part(value: str) -> str | None:
    """What of ``value`` is written in the file: the default of a ``${VAR:-…}`` expansion (``None``
    when that is empty or another expansion), else ``value`` itself."""
    default = shell_default(value)
    if default is None:
        return value
    return default if default and not default.startswith("$") else None
