"""Helpers shared by the GCP Terraform checks (``gcp_*.py``): nested blocks, metadata, SQL flags, IAM.

Like every Terraform check they follow one rule: a value that is an expression (``"${…}"``) is
unknown, and an unknown value is never reported. A block that a ``dynamic`` block with an unknown
``for_each`` makes (``TfResource.unknown_blocks``) may exist, so it is never reported as missing.
"""

from __future__ import annotations

import os
import re
from typing import Any

from cnsec.assess.checks.terraform._tf import as_list, is_expr, truth
from cnsec.assess.loaders.terraform import TfResource

#: Subnet purposes whose subnets carry no VMs and accept neither flow logs nor private Google access.
PROXY_PURPOSES = frozenset({"INTERNAL_HTTPS_LOAD_BALANCER", "REGIONAL_MANAGED_PROXY", "GLOBAL_MANAGED_PROXY",
                            "PRIVATE_SERVICE_CONNECT", "PRIVATE_NAT"})
#: Compute Engine VMs and the templates VMs are made from.
INSTANCES = ("google_compute_instance", "google_compute_instance_template", "google_compute_instance_from_template",
             "google_compute_region_instance_template")
#: The basic (primitive) roles: each grants every permission of a whole class over the project.
BASIC_ROLES = frozenset({"roles/owner", "roles/editor", "roles/viewer"})
#: Roles that act as (or manage) every service account where they are granted.
IMPERSONATION_ROLES = frozenset({
    "roles/owner", "roles/editor", "roles/iam.securityAdmin", "roles/iam.serviceAccountAdmin",
    "roles/iam.serviceAccountKeyAdmin", "roles/iam.serviceAccountUser", "roles/iam.serviceAccountTokenCreator",
    "roles/iam.workloadIdentityUser", "roles/dataflow.developer", "roles/serverless.serviceAgent",
    "roles/dataproc.serviceAgent", "roles/deploymentmanager.editor", "roles/cloudbuild.builds.editor",
    "roles/iam.serviceAccountOpenIdTokenCreator", "roles/backupdr.computeEngineOperator", "roles/assuredoss.admin",
    "roles/securitycenter.admin", "roles/cloudbuild.builds.builder", "roles/composer.worker", "roles/dataflow.admin",
    "roles/run.sourceDeveloper", "roles/dataproc.hubAgent",
})
#: Google-managed service agents: the members service-agent roles are made for.
SERVICE_AGENT = re.compile(r"^serviceAccount:(?:service-\d+@|\d+@cloudservices\.|\d+@cloudbuild\.)"
                           r"|@(?:gcp-sa-[\w-]+|container-engine-robot|compute-system|dataproc-accounts)\.iam\.gserviceaccount\.com$")


def impersonates(role: str) -> bool:
    """Whether a role acts as service accounts: the list above and every ``*.serviceAgent`` role."""
    return role in IMPERSONATION_ROLES or role.endswith(".serviceAgent")
#: IAM grants on the resource hierarchy (project, folder, organization).
IAM_GRANTS = ("google_project_iam_member", "google_project_iam_binding", "google_folder_iam_member",
              "google_folder_iam_binding", "google_organization_iam_member", "google_organization_iam_binding")
#: Members anyone can be.
PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")


def sub(block: dict[str, Any] | None, name: str) -> dict[str, Any] | None:
    """The first nested ``name { … }`` block of a block body (python-hcl2 gives a list of dicts)."""
    if not isinstance(block, dict):
        return None
    value = block.get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, dict) else None


def first(r: TfResource, name: str) -> dict[str, Any] | None:
    found = r.blocks(name)
    return found[0] if found else None


def may_have(r: TfResource, name: str) -> bool:
    """Whether block ``name`` is present or made by a ``dynamic`` block of unknown count."""
    return bool(r.blocks(name)) or name in r.unknown_blocks


def known(value: Any) -> bool:
    """A literal (not an expression, nor a list or map holding one)."""
    if isinstance(value, list):
        return all(known(v) for v in value)
    if isinstance(value, dict):
        return all(known(v) for v in value.values())
    return not is_expr(value)


def is_false(value: Any) -> bool:
    return truth(value) is False


def is_true(value: Any) -> bool:
    return truth(value) is True


def from_template(r: TfResource, *needed: str) -> bool:
    """A ``google_compute_instance_from_template`` that leaves ``needed`` to its template: unknown here."""
    return "source_instance_template" in r.attrs and not any(n in r.attrs for n in needed)


def metadata(r: TfResource) -> dict[str, Any] | None:
    """An instance's ``metadata`` map; None when it is an expression (unknown)."""
    value = r.attrs.get("metadata")
    if value is None:
        return {}
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value if isinstance(value, dict) else None


def members_of(r: TfResource) -> list[str]:
    return [str(m) for m in as_list(r.get("member")) + as_list(r.get("members"))]


def database_flags(r: TfResource) -> dict[str, Any] | None:
    """A Cloud SQL instance's ``settings.database_flags`` by name; None when one of them is unknown."""
    settings = first(r, "settings")
    if settings is None:
        return {}
    flags: dict[str, Any] = {}
    for flag in as_list(settings.get("database_flags")):
        if not isinstance(flag, dict):
            return None
        name = flag.get("name")
        if not isinstance(name, str) or is_expr(name):
            return None
        flags[name] = flag.get("value")
    if "database_flags" in r.unknown_blocks:
        return None
    return flags


_ENGINES = ("MYSQL", "POSTGRES", "SQLSERVER")


def engine(r: TfResource) -> str | None:
    """``MYSQL``, ``POSTGRES`` or ``SQLSERVER`` from ``database_version``; None when unknown.

    An expression that builds the version around one engine's literal name (the sql-db modules'
    ``format("POSTGRES_%s", var.database_version)``) is that engine.
    """
    version = r.get("database_version")
    if not isinstance(version, str):
        return None
    if is_expr(version):
        named = [e for e in _ENGINES if e in version]
        return named[0] if len(named) == 1 else None
    return version.split("_", 1)[0].upper()


def postgres_flag_problem(r: TfResource, name: str, values: tuple[str, ...]) -> str | None:
    """Why a PostgreSQL instance does not set flag ``name`` to one of ``values`` (lower case); None when it
    does, when it is no PostgreSQL instance, or when its flags are unknown."""
    if engine(r) != "POSTGRES":
        return None
    flags = database_flags(r)
    if flags is None:
        return None
    value = flags.get(name)
    if value is None:
        return f"does not set the {name} flag"
    if not known(value) or str(value).lower() in values:
        return None
    return f"sets {name} = {value!r}"


# -- GKE ------------------------------------------------------------------------------------------

def autopilot(r: TfResource) -> bool:
    """An Autopilot cluster: Google runs and hardens its nodes (shielded, secure boot, GKE metadata
    server, Dataplane V2), so the node settings of a standard cluster do not apply."""
    return is_true(r.get("enable_autopilot"))


def node_configs(r: TfResource) -> list[dict[str, Any]]:
    """The node settings that take effect: a node pool's ``node_config``; for a cluster its own
    ``node_config`` (the default pool's) and those of its inline ``node_pool`` blocks. None for
    Autopilot, and the default pool's none for ``remove_default_node_pool = true``. A missing
    ``node_config`` is an empty one (GKE's defaults)."""
    if r.type != "google_container_cluster":
        return [first(r, "node_config") or {}]
    if autopilot(r):
        return []
    pools = [sub(p, "node_config") or {} for p in r.blocks("node_pool")]
    if pools or is_true(r.get("remove_default_node_pool")):
        return pools
    return [first(r, "node_config") or {}]


def sibling_clusters(r: TfResource, ctx: object) -> list[TfResource]:
    """The clusters of the node pool's own module instance (the pool's ``cluster`` is usually one)."""
    from cnsec.assess.checks.terraform._tf import others

    here = os.path.dirname(r.file)
    return [c for c in others(ctx, "google_container_cluster")
            if os.path.dirname(c.file) == here and c.module == r.module]
