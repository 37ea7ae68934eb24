from __future__ import annotations

import os
from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._tf import as_list, is_expr, others, refers_to
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

FIX = ('resource "google_project_iam_audit_config" "all" {\n  project = google_project.this.project_id\n'
       '  service = "allServices"\n  audit_log_config {\n    log_type = "ADMIN_READ"\n  }\n'
       '  audit_log_config {\n    log_type = "DATA_READ"\n  }\n'
       '  audit_log_config {\n    log_type = "DATA_WRITE"\n  }\n}')


def _complete(cfg: TfResource) -> bool:
    """An ``allServices`` audit config that exempts nobody (or whose exemptions are unknown)."""
    if cfg.get("service") != "allServices":
        return False
    return not any(isinstance(b, dict) and as_list(b.get("exempted_members")) and
                   all(isinstance(m, str) and "${" not in m for m in as_list(b.get("exempted_members")))
                   for b in cfg.blocks("audit_log_config"))


@check(
    id="CNSEC-TF-308",
    title="GCP project without data-access audit logs for all services",
    severity=Severity.LOW,
    target="terraform",
    resource_types=("google_project",),
    threats=("defense-evasion", "data-breach"),
    control="CTRL-LOGGING",
    remediation=("Add a google_project_iam_audit_config for service \"allServices\" with ADMIN_READ, DATA_READ and "
                 "DATA_WRITE log types and no exempted members (or set it on the folder or organization)."),
    equivalents={"checkov": ("CKV2_GCP_5",)},
)
def gcp_project_audit_logging(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Admin activity is always logged, but reads and writes of data are not unless data-access audit
    logs are turned on: without them a bucket or database emptied by a stolen credential leaves no
    record of what was read.

    Audit configs are looked for in the project's own module; one whose ``project`` is an expression
    cnsec cannot resolve may be this project's, so the project is then not reported.
    """
    here = [c for c in others(ctx, "google_project_iam_audit_config")
            if os.path.dirname(c.file) == os.path.dirname(r.file) and c.module == r.module]
    mine = [c for c in here if refers_to(c.get("project"), r) or c.get("project") == r.get("project_id")]
    if any(_complete(c) for c in mine):
        return
    if not mine and any(is_expr(c.get("project")) for c in here):
        return  # a config for a project cnsec cannot name: perhaps this one
    yield Hit(f"{r.address} has no allServices audit config without exemptions", line=r.line,
              location="google_project_iam_audit_config", fix=FIX)
