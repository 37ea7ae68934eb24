"""Public faces that cost nothing to import: a package's ``__init__`` names what it offers, and each name
is loaded from its module on first use (PEP 562).

A pillar's public face (``cnsec.assess``, ``cnsec.data``, ``cnsec.iam``) is what other pillars may import
(tests/test_architecture.py holds them to it); loading it lazily keeps that rule free: ``import
cnsec.assess.cli`` for the argument parser does not load the assessment engine, and the CLI starts fast.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def exports(package: str, where: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``name`` is loaded from ``package.<where[name]>`` on first
    use and kept in the package's namespace (so the next access is a plain attribute)."""

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
