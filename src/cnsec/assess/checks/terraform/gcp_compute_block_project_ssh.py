from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import INSTANCES, from_template, is_true, known, metadata
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-304",
    title="Compute instance accepts project-wide SSH keys",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=INSTANCES,
    threats=("lateral-movement", "credential-abuse"),
    control="CTRL-HOST-HARDENING",
    remediation=("Set metadata \"block-project-ssh-keys\" = true (or use OS Login, enable-oslogin = TRUE) so "
                 "only keys meant for this instance open it."),
    equivalents={"checkov": ("CKV_GCP_32",)},
)
def gcp_compute_block_project_ssh(r: TfResource, ctx: object) -> Iterator[Hit]:
    """A project-wide SSH key opens every VM of the project: one leaked laptop key reaches them all.

    OS Login replaces metadata keys altogether, so ``enable-oslogin = TRUE`` on the instance passes too.
    """
    meta = metadata(r)
    if meta is None or from_template(r, "metadata") or (
            "source_instance_template" in r.attrs and "block-project-ssh-keys" not in meta):
        return
    block = meta.get("block-project-ssh-keys")
    oslogin = meta.get("enable-oslogin")
    if is_true(block) or not known(block) or is_true(oslogin) or not known(oslogin):
        return
    yield Hit(f"{r.address} does not block project-wide SSH keys", line=r.line_of("metadata"),
              location="metadata.block-project-ssh-keys",
              fix='metadata = {\n  block-project-ssh-keys = "true"\n}')
