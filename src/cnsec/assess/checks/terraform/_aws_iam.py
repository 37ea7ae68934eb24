"""What an IAM policy statement allows, action by action: access level and resource constraints.

The checks CNSEC-TF-125..127 judge a statement by the actions it allows on every resource
(``Resource: "*"``) that could have been limited to ARNs, as Cloudsplaining does (Checkov's IAM
checks use it). Which action is restrictable, and its access level, comes from AWS's Service
Authorization Reference (``cnsec/assess/data/aws-iam-actions.json.gz``, see its NOTICE).

Values that are expressions are unknown: an unknown action allows nothing here, an unknown
resource is not ``*``.
"""

from __future__ import annotations

import fnmatch
import gzip
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from cnsec.assess.checks.terraform._tf import as_list, is_expr, policy_document, statements
from cnsec.assess.loaders.terraform import TfResource

#: Resources whose ``policy`` is an identity policy (Checkov's CKV_AWS_355 family)...
POLICY_RESOURCES = ("aws_iam_policy", "aws_iam_role_policy", "aws_iam_user_policy", "aws_iam_group_policy")
#: ... and the data source that renders one (its CKV_AWS_356 family).
POLICY_DOCUMENT = "aws_iam_policy_document"


@dataclass(frozen=True, slots=True)
class Action:
    name: str  # "s3:PutObject"
    level: str  # R read, W write, L list, P permissions management, T tagging
    restrictable: bool  # accepts resource ARNs


@lru_cache(maxsize=1)
def _table() -> dict[str, list[Action]]:
    raw = resources.files("cnsec.assess").joinpath("data/aws-iam-actions.json.gz").read_bytes()
    table: dict[str, list[Action]] = {}
    for prefix, rows in json.loads(gzip.decompress(raw)).items():
        out = []
        for row in rows.split():
            name, _, code = row.rpartition(":")
            out.append(Action(f"{prefix}:{name}", code[0], not code.endswith("*")))
        table[prefix.lower()] = out
    return table


@lru_cache(maxsize=4096)
def expand(pattern: str) -> tuple[Action, ...]:
    """The actions an ``Action`` entry names (``s3:Get*``, ``ec2:*``, ``*``), case-insensitive."""
    text = pattern.strip()
    if text == "*":
        return tuple(a for rows in _table().values() for a in rows)
    prefix, _, name = text.partition(":")
    rows = _table().get(prefix.lower(), [])
    if not name:
        return ()
    if "*" not in name and "?" not in name:
        return tuple(a for a in rows if a.name.split(":", 1)[1].lower() == name.lower())
    rx = re.compile(fnmatch.translate(name.lower()))
    return tuple(a for a in rows if rx.match(a.name.split(":", 1)[1].lower()))


@dataclass(slots=True)
class Statement:
    allow: bool
    actions: list[Action]
    resources: list[str]  # literal resources only
    condition: bool

    @property
    def wildcard(self) -> bool:
        return "*" in self.resources

    @property
    def unconstrained(self) -> bool:
        """Cloudsplaining's "without resource constraints": "*" among the resources, no condition."""
        return self.wildcard and not self.condition


def _words(value: Any) -> list[str]:
    return [str(v).strip() for v in as_list(value) if v is not None and not is_expr(v)]


def policy_statements(r: TfResource) -> list[Statement]:
    """The statements of a policy resource or ``aws_iam_policy_document`` (NotAction ones left out:
    CNSEC-TF-011 reports those)."""
    raw: list[dict[str, Any]]
    if r.type == POLICY_DOCUMENT:
        raw = [{"Effect": b.get("effect", "Allow"), "Action": b.get("actions"), "Resource": b.get("resources"),
                "Condition": b.get("condition")} for b in r.blocks("statement")]
    else:
        raw = statements(policy_document(r.get("policy")))
    out = []
    for st in raw:
        effect = st.get("Effect", "Allow")
        if is_expr(effect):
            continue
        actions = [a for pattern in _words(st.get("Action")) for a in expand(pattern)]
        out.append(Statement(str(effect).strip() == "Allow", actions, _words(st.get("Resource")),
                             bool(st.get("Condition"))))
    return out


def unrestricted(stmts: list[Statement]) -> list[str]:
    """Restrictable actions allowed on ``*`` without a condition, less those a Deny statement names
    (Cloudsplaining's ``all_allowed_unrestricted_actions``)."""
    allowed = {a.name for s in stmts if s.allow and s.wildcard and not s.condition for a in s.actions
               if a.restrictable}
    denied = {a.name for s in stmts if not s.allow for a in s.actions}
    return sorted(allowed - denied)


def without_constraints(stmts: list[Statement], level: str) -> list[str]:
    """Restrictable actions of one access level allowed on ``Resource: "*"`` without a condition
    (Cloudsplaining's ``write_actions_without_constraints`` and kin)."""
    return sorted({a.name for s in stmts if s.allow and s.unconstrained for a in s.actions
                   if a.restrictable and a.level == level})
