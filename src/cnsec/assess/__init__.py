"""Assessment: loaders → checks → risk → plan.

The public face other pillars may import (tests/test_architecture.py): the project's one input walk,
which reads folders, files and stdin into Kubernetes resources, Dockerfiles and Terraform with the
same limits and problems everywhere. ``cnsec iam`` reads its RBAC inputs through it, so ``iam audit``
and ``assess`` see the same objects at the same file:line. It is exposed here rather than moved under
the pillars because it is the assess walk (Dockerfiles, Terraform, parallel parsing), not Kubernetes
knowledge; the Kubernetes model itself is :mod:`cnsec.k8s`. ``EXPLOITABILITY`` (a severity's chance
of being the way in, docs/risk.md) is the base ``cnsec vulns`` scores an image vulnerability from.
``cnsec serve`` runs assessments through ``find_config`` and ``assess``, as ``cnsec assess`` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnsec.lazy import exports

_WHERE = {"Inventory": "inventory", "load_inventory": "inventory", "EXPLOITABILITY": "risk", "assess": "engine",
          "find_config": "config"}

__all__ = ["EXPLOITABILITY", "Inventory", "assess", "find_config", "load_inventory"]

if TYPE_CHECKING:
    from cnsec.assess.config import find_config
    from cnsec.assess.engine import assess
    from cnsec.assess.inventory import Inventory, load_inventory
    from cnsec.assess.risk import EXPLOITABILITY

__getattr__ = exports(__name__, _WHERE)
