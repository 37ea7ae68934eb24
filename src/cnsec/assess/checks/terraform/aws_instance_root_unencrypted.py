from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._tf import is_expr, others, truth
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-106",
    title="EC2 instance or launch configuration volume not encrypted",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("aws_instance", "aws_launch_configuration"),
    threats=("data-breach",),
    control="CTRL-ENCRYPT-AT-REST",
    remediation=("Set encrypted = true in root_block_device and every ebs_block_device (or enable "
                 "aws_ebs_encryption_by_default for the account)."),
    equivalents={"checkov": ("CKV_AWS_8",)},
)
def aws_instance_root_unencrypted(r: TfResource, ctx: object) -> Iterator[Hit]:
    """An instance's disks hold its data, keys and caches; unencrypted, their snapshots and the volumes
    themselves can be copied and read by anyone who gets hold of them.

    Without a ``root_block_device`` block the root volume is created unencrypted (unless the AMI's
    snapshot is encrypted, which Terraform cannot see). A device restored from a snapshot inherits the
    snapshot's encryption and passes; account-wide encryption by default in the same configuration
    passes everything.
    """
    for d in others(ctx, "aws_ebs_encryption_by_default"):
        if truth(d.get("enabled")) is not False:
            return
    if "root_block_device" in r.unknown_blocks:
        return
    roots = r.blocks("root_block_device")
    if not roots:
        yield Hit(f"{r.address} has no root_block_device: its root volume is not encrypted", line=r.line,
                  location="root_block_device", fix="root_block_device {\n  encrypted = true\n}")
        return
    for name in ("root_block_device", "ebs_block_device"):
        if name in r.unknown_blocks:
            continue
        for n, dev in enumerate(r.blocks(name)):
            value = dev.get("encrypted")
            if dev.get("snapshot_id") or is_expr(value) or truth(value) is True:
                continue
            if truth(value) is False or (value is None and name == "root_block_device"):
                yield Hit(f"{r.address} {name}[{n}] is not encrypted", line=r.line_of(name),
                          location=f"{name}[{n}].encrypted", fix="encrypted = true")
                return
