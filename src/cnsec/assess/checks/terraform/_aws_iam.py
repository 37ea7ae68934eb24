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
POLICY_RESOURCES = ("aws_iam_policy", "aws_iam_role_policy", "aws_iam_user_policy", "aws_iam_group_policy",
                    "aws_ssoadmin_permission_set_inline_policy")
_TRAILING_COMMA = re.compile(r",(\s*[\]}])")
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
    """The identity-policy statements of a policy resource or ``aws_iam_policy_document`` (NotAction
    ones left out: CNSEC-TF-011 reports those; resource-policy statements, which name principals,
    left out too)."""
    raw: list[dict[str, Any]]
    if r.type == POLICY_DOCUMENT:
        raw = [{"Effect": b.get("effect", "Allow"), "Action": b.get("actions"), "Resource": b.get("resources"),
                "Condition": b.get("condition"), "Principal": b.get("principals") or b.get("not_principals")}
               for b in r.blocks("statement")]
    else:
        text = r.get("inline_policy" if r.type == "aws_ssoadmin_permission_set_inline_policy" else "policy")
        doc = policy_document(text)
        if doc is None and isinstance(text, str) and "${" not in text:
            # IAM accepts what JSON does not (trailing commas), and so do the peers: read it too
            doc = policy_document(_TRAILING_COMMA.sub(r"\1", text))
        raw = statements(doc)
    out = []
    for st in raw:
        effect = st.get("Effect", "Allow")
        if is_expr(effect) or st.get("Principal") or st.get("NotPrincipal"):
            # a statement naming principals belongs to a resource policy (a key, bucket or queue
            # policy), where "Resource": "*" means the resource it is attached to, not every resource
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


def unrestrictable(stmts: list[Statement]) -> list[str]:
    """Actions that cannot be scoped to ARNs, allowed without a condition on any resource, less the
    denied ones (Cloudsplaining's ``all_allowed_unrestrictable_actions``)."""
    allowed = {a.name for s in stmts if s.allow and not s.condition for a in s.actions if not a.restrictable}
    denied = {a.name for s in stmts if not s.allow for a in s.actions}
    return sorted(allowed - denied)


def allowed_freely(stmts: list[Statement], wanted: frozenset[str]) -> list[str]:
    """Which of ``wanted`` (lower-case names) the policy allows without resource constraints."""
    return sorted(a for a in unrestricted(stmts) + unrestrictable(stmts) if a.lower() in wanted)


#: Actions whose response carries credentials (Cloudsplaining's list, after Kinnaird McQuade's), less
#: ecr:GetAuthorizationToken: every node that pulls images needs it on "*" (it cannot be scoped), and
#: the token only allows the pulls the role's repository permissions allow (Checkov excludes it too).
RETURN_CREDENTIALS = frozenset("""
airflow:createclitoken airflow:createweblogintoken appsync:createapikey chime:createapikey
cloud9:createenvironmenttoken codeartifact:getauthorizationtoken codepipeline:pollforjobs
cognito-identity:getopenidtoken cognito-identity:getopenidtokenfordeveloperidentity
cognito-identity:getcredentialsforidentity cognito-idp:getsigningcertificate connect:getfederationtoken
connect:getfederationtokens ec2:getpassworddata ecr-public:getauthorizationtoken
emr-containers:getmanagedendpointsessioncredentials finspace-api:getprogrammaticaccesscredentials
gamelift:requestuploadcredentials gamelift:getinstanceaccess gamelist:getcomputeaccess
gamelist:getcomputeauthtoken grafana:createworkspaceapikey iam:createaccesskey iam:createloginprofile
iam:createservicespecificcredential iam:resetservicespecificcredential iam:updateaccesskey
license-manager:getaccesstoken lightsail:getinstanceaccessdetails lightsail:downloaddefaultkeypair
lightsail:createbucketaccesskey lightsail:getrelationaldatabasemasteruserpassword
mediapackage:rotatechannelcredentials mediapackage:rotateingestendpointcredentials rds-db:connect
redshift:getclustercredentials redshift:getclustercredentialswithiam redshift-serverless:getcredentials
sso:getrolecredentials sts:assumerole sts:assumerolewithsaml sts:assumerolewithwebidentity
sts:getfederationtoken sts:getsessiontoken
""".split())  # noqa: SIM905 (one list, 45 names: readable as text)

#: Read actions that hand out data or secrets wholesale (Cloudsplaining's data-exfiltration list).
EXFILTRATION = frozenset(a.lower() for a in ("s3:GetObject", "ssm:GetParameter", "ssm:GetParameters",
                                             "ssm:GetParametersByPath", "secretsmanager:GetSecretValue"))

#: Privilege-escalation methods published by Rhino Security Labs: every action of one method together.
ESCALATIONS: dict[str, tuple[str, ...]] = {
    "CreateAccessKey": ("iam:createaccesskey",), "CreateLoginProfile": ("iam:createloginprofile",),
    "UpdateLoginProfile": ("iam:updateloginprofile",), "AddUserToGroup": ("iam:addusertogroup",),
    "CreateNewPolicyVersion": ("iam:createpolicyversion",),
    "SetExistingDefaultPolicyVersion": ("iam:setdefaultpolicyversion",),
    "AttachUserPolicy": ("iam:attachuserpolicy",), "AttachGroupPolicy": ("iam:attachgrouppolicy",),
    "AttachRolePolicy": ("iam:attachrolepolicy", "sts:assumerole"), "PutUserPolicy": ("iam:putuserpolicy",),
    "PutGroupPolicy": ("iam:putgrouppolicy",), "PutRolePolicy": ("iam:putrolepolicy", "sts:assumerole"),
    "UpdateRolePolicyToAssumeIt": ("iam:updateassumerolepolicy", "sts:assumerole"),
    "CreateEC2WithExistingIP": ("iam:passrole", "ec2:runinstances"),
    "PassExistingRoleToNewLambdaThenInvoke": ("iam:passrole", "lambda:createfunction", "lambda:invokefunction"),
    "PassExistingRoleToNewLambdaThenTriggerWithNewDynamo": (
        "iam:passrole", "lambda:createfunction", "lambda:createeventsourcemapping", "dynamodb:createtable",
        "dynamodb:putitem"),
    "PassExistingRoleToNewLambdaThenTriggerWithExistingDynamo": (
        "iam:passrole", "lambda:createfunction", "lambda:createeventsourcemapping"),
    "PassExistingRoleToNewGlueDevEndpoint": ("iam:passrole", "glue:createdevendpoint"),
    "PassExistingRoleToCloudFormation": ("iam:passrole", "cloudformation:createstack"),
    "PassExistingRoleToNewDataPipeline": ("iam:passrole", "datapipeline:createpipeline"),
    "UpdateExistingGlueDevEndpoint": ("glue:updatedevendpoint",),
    "EditExistingLambdaFunctionWithRole": ("lambda:updatefunctioncode",),
}


def escalations(stmts: list[Statement]) -> list[str]:
    """The escalation methods all of whose actions the policy allows without resource constraints."""
    free = {a.lower() for a in unrestricted(stmts) + unrestrictable(stmts)}
    return [name for name, actions in ESCALATIONS.items() if set(actions) <= free]
