from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import setting
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

#: Runtimes AWS no longer patches (AWS's deprecation table, as Checkov 3.3.30 lists them).
DEPRECATED = frozenset({
    "dotnetcore3.1", "nodejs12.x", "python3.6", "python2.7", "dotnet5.0", "dotnetcore2.1", "ruby2.5", "nodejs10.x",
    "nodejs8.10", "nodejs4.3", "nodejs6.10", "dotnetcore1.0", "dotnetcore2.0", "nodejs4.3-edge", "nodejs", "java8",
    "python3.7", "go1.x", "provided", "ruby2.7", "nodejs14.x", "nodejs16.x", "python3.9", "dotnet7", "dotnet6",
})


@check(
    id="CNSEC-TF-149",
    title="Lambda function on a deprecated runtime",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("aws_lambda_function",),
    threats=("malicious-image",),
    control="CTRL-PATCHING",
    remediation="Move to a supported runtime (e.g. python3.12, nodejs20.x, java21, provided.al2023).",
    equivalents={"checkov": ("CKV_AWS_363",)},
)
def aws_lambda_deprecated_runtime(r: TfResource, ctx: object) -> Iterator[Hit]:
    """A deprecated runtime gets no more security patches of its language or OS layer."""
    runtime = setting(r, "runtime")
    if not isinstance(runtime, str) or runtime not in DEPRECATED:
        return
    yield Hit(f"{r.address} runs on the deprecated runtime {runtime}", line=r.line_of("runtime"),
              location="runtime", fix='runtime = "python3.12"')
