"""cnsec respond: act on alerts by playbook, dry run first, every decision in a hash-chained trail.

The public face other pillars may import (tests/test_architecture.py): ``cnsec serve`` plans, and after
approval applies, one action for one alert through the same engine as ``cnsec respond`` (the playbook's
allow-list and rate limit, idempotency from the trail). Loaded on first use (:mod:`cnsec.lazy`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnsec.lazy import exports

_WHERE = {
    "Responder": "engine", "RunResult": "engine", "ActionContext": "actions.base", "load_actions": "actions",
    "AuditTrail": "audit", "default_path": "audit", "LoadedAlert": "alerts", "alert_from_dict": "alerts",
    "PlaybookRule": "playbooks", "Step": "playbooks", "bundled_playbook_path": "playbooks",
    "load_playbook": "playbooks",
}

__all__ = ["ActionContext", "AuditTrail", "LoadedAlert", "PlaybookRule", "Responder", "RunResult", "Step",
           "alert_from_dict", "bundled_playbook_path", "default_path", "load_actions", "load_playbook"]

if TYPE_CHECKING:
    from cnsec.respond.actions import load_actions
    from cnsec.respond.actions.base import ActionContext
    from cnsec.respond.alerts import LoadedAlert, alert_from_dict
    from cnsec.respond.audit import AuditTrail, default_path
    from cnsec.respond.engine import Responder, RunResult
    from cnsec.respond.playbooks import PlaybookRule, Step, bundled_playbook_path, load_playbook

__getattr__ = exports(__name__, _WHERE)
