from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.loaders.dockerfile import Dockerfile
from cnsec.model.severity import Severity


def _covers_22(token: str) -> bool:
    port = token.split("/", 1)[0]
    low, dash, high = port.partition("-")
    try:
        if dash:
            return int(low) <= 22 <= int(high)
        return int(port) == 22
    except ValueError:
        return False  # a variable or garbage: cannot tell


@check(
    id="CNSEC-DKR-005",
    title="SSH port 22 exposed",
    severity=Severity.MEDIUM,
    target="dockerfile",
    threats=("exposed-interface", "exec-in-container"),
    control="CTRL-EXPOSURE",
    remediation=("Do not run an SSH server in a container: remove EXPOSE 22 and sshd; use "
                 "`kubectl exec`/`docker exec` (or ephemeral debug containers) for access."),
    equivalents={"checkov": ("CKV_DOCKER_1",)},
)
def expose_ssh(df: Dockerfile, ctx: object) -> Iterator[Hit]:
    """An SSH server in a container is a remote login surface with its own keys and passwords to leak,
    outside of the orchestrator's authentication and audit."""
    for n, ins in enumerate(df.of("EXPOSE")):
        tokens = ins.value.split()
        if any(_covers_22(t) for t in tokens):
            rest = [t for t in tokens if not _covers_22(t)]
            yield Hit("EXPOSE opens port 22 (SSH)", line=ins.line, location=f"expose[{n}]",
                      fix=("EXPOSE " + " ".join(rest)) if rest else "remove the EXPOSE 22 line")
