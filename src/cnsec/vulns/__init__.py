"""Known vulnerabilities in dependencies, OS packages and images: inventory -> local OSV index -> findings.

The public face other pillars may import (tests/test_architecture.py): ``cnsec assess --images`` joins
image vulnerabilities to the workloads that run them through :class:`~cnsec.vulns.risk.ImageJoin`, and
takes the same ``--vex``/``--kev``/``--epss`` options as ``cnsec vulns`` (``add_exploitation_options``).
Loaded on first use (:mod:`cnsec.lazy`), so the assess CLI does not load the matcher to build its parser.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnsec.lazy import exports

_WHERE = {"ImageJoin": "risk", "add_exploitation_options": "options"}

__all__ = ["ImageJoin", "add_exploitation_options"]

if TYPE_CHECKING:
    from cnsec.vulns.options import add_exploitation_options
    from cnsec.vulns.risk import ImageJoin

__getattr__ = exports(__name__, _WHERE)
