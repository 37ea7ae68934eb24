from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform.provider_credentials import _block_end
from cnsec.assess.loaders import hcl as fast_hcl
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

_DATA = re.compile(r'^[ \t]*data[ \t]+"aws_availability_zones"[ \t]+"([A-Za-z0-9_-]{1,200})"[ \t]*\{', re.MULTILINE)
IDENTITY_FILTERS = ("zone-name", "zone-id")


def _filters(block: str) -> list[Any] | None:
    """The ``filter`` blocks of one data block's text; None when it cannot be read here."""
    try:
        doc = fast_hcl.loads(block)
    except fast_hcl.Unsupported:
        return None
    for entry in doc.get("data", []):
        for body in (entry.get('"aws_availability_zones"') or {}).values():
            return list(body.get("filter") or [])
    return None


@check(
    id="CNSEC-TF-128",
    title="Availability-zone list not pinned to named zones",
    severity=Severity.INFO,
    target="inventory",
    threats=("exposed-interface",),
    control="CTRL-NETWORK-SEGMENTATION",
    remediation=('Allowlist the zones: filter { name = "zone-id" values = ["use1-az1", "use1-az2"] } '
                 "(exclude_names is a denylist and does not pin the set)."),
    equivalents={"checkov": ("CKV_AWS_394",)},
)
def aws_availability_zones_open(inv: object, ctx: object) -> Iterator[Hit]:
    """Subnets, NAT gateways and their routes are made "for each zone" of this list: when AWS opens a
    zone the next apply builds network in it that nobody reviewed (and that firewall rules, flow-log
    and endpoint policies keyed to the known zones do not cover).

    A data source is no resource of the configuration, but its arguments are configuration written
    here; only an identity filter (zone-name / zone-id) pins the set, as in Checkov.
    """
    texts = getattr(inv, "texts", {})
    if not isinstance(texts, dict):
        return
    for file, raw in texts.items():
        if not str(file).endswith(".tf") or "aws_availability_zones" not in raw:
            continue
        text = "\n".join(inv.lines(file))  # type: ignore[attr-defined]
        for m in _DATA.finditer(text):
            block = text[m.start():_block_end(text, m.end() - 1) + 1]
            filters = _filters(block)
            if filters is None or any(isinstance(f, dict) and str(f.get("name", "")).strip('"') in IDENTITY_FILTERS
                                      for f in filters):
                continue
            line = text.count("\n", 0, m.start()) + 1
            res = TfResource(type="aws_availability_zones", name=m.group(1), attrs={}, file=str(file), line=line,
                             end_line=line + block.count("\n"), block="data")
            res.key = f"data.aws_availability_zones.{m.group(1)}@{file}"
            yield Hit(f"data.aws_availability_zones.{m.group(1)} lists every zone of the region, including "
                      "zones AWS adds later", line=line, location=f"data.aws_availability_zones.{m.group(1)}",
                      resource=res,
                      fix='filter {\n  name   = "zone-id"\n  values = ["use1-az1", "use1-az2", "use1-az4"]\n}')
