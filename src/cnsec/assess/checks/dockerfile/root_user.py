from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.loaders.dockerfile import Dockerfile
from cnsec.model.severity import Severity

ROOT_USERS = {"root", "0", "root:root", "0:0"}


@check(
    id="CNSEC-DKR-001",
    title="Image runs as root",
    severity=Severity.MEDIUM,
    target="dockerfile",
    threats=("container-escape",),
    control="CTRL-NON-ROOT",
    remediation="Add a USER instruction with a non-root user (e.g. USER 10001) in the final stage.",
    equivalents={"checkov": ("CKV_DOCKER_3", "CKV_DOCKER_8")},
)
def image_runs_as_root(df: Dockerfile, ctx: object) -> Iterator[Hit]:
    """Without a USER the final image runs as root, so any code execution starts as root in the container."""
    stage = df.final_stage
    if not stage:
        return
    users = [i for i in stage if i.cmd == "USER"]
    if not users:
        yield Hit("the final stage sets no USER, so the container runs as root", line=stage[0].line,
                  location="final-stage/no-user", fix="USER 10001:10001")
    elif (users[-1].value.strip().split() or ["root"])[0] in ROOT_USERS:
        yield Hit(f"the last USER is {users[-1].value.strip()!r}", line=users[-1].line,
                  location="final-stage/root-user", fix="USER 10001:10001")
