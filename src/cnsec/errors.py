"""One root error for everything a user can get wrong.

The CLI turns a :class:`CnsecError` into one clear line and exit code 2; anything else is a bug and
shows a traceback only with ``--debug``.
"""

from __future__ import annotations

from cnsec.model.source import Source


class CnsecError(Exception):
    """A user-facing error. ``source`` says where in the input it happened."""

    exit_code = 2

    def __init__(self, message: str, source: Source | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.source = source

    def __str__(self) -> str:
        if self.source is not None:
            return f"{self.source}: {self.message}"
        return self.message


class InputError(CnsecError):
    """Input that cannot be read or understood (malformed YAML, HCL, Dockerfile, JSON...)."""


class UsageError(CnsecError):
    """Arguments or configuration that do not make sense."""


class ConfigError(CnsecError):
    """A broken ``.cnsec.yaml`` or other configuration file."""
