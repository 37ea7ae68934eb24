"""Response actions, one module each, found by walking this package (and the ``cnsec.actions`` entry
points): a new action is one new file exporting ``ACTION``; a duplicate id fails loudly at load time."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from importlib import metadata

from cnsec.respond.actions.base import Action

_NOT_ACTIONS = {"base"}


def _register(found: dict[str, Action], action: object, origin: str) -> None:
    if isinstance(action, type) and issubclass(action, Action):
        action = action()
    if not isinstance(action, Action):
        raise TypeError(f"{origin}: ACTION is not a cnsec.respond.actions.base.Action")
    if action.id in found:
        raise RuntimeError(f"duplicate response action id {action.id!r} ({origin})")
    found[action.id] = action


@cache
def load_actions() -> dict[str, Action]:
    found: dict[str, Action] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_") or info.name in _NOT_ACTIONS:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        action = getattr(module, "ACTION", None)
        if action is None:
            raise RuntimeError(f"{module.__name__}: an action module must define ACTION")
        _register(found, action, module.__name__)
    for entry in metadata.entry_points(group="cnsec.actions"):
        _register(found, entry.load(), f"entry point {entry.name}")
    return found
