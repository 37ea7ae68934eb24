from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.loaders.dockerfile import Dockerfile, Instruction
from cnsec.model.severity import Severity


def _stage_alias(frm: Instruction) -> tuple[str, str]:
    words = frm.value.split()
    alias = words[2].lower() if len(words) >= 3 and words[1].lower() == "as" else ""
    return (words[0].lower() if words else ""), alias


@check(
    id="CNSEC-DKR-006",
    title="No HEALTHCHECK in the image",
    severity=Severity.INFO,
    target="dockerfile",
    threats=("denial-of-service",),
    control="CTRL-PROBES",
    remediation=("Add a HEALTHCHECK to the final stage (e.g. HEALTHCHECK CMD wget -qO- "
                 "http://127.0.0.1:8080/healthz || exit 1), or define probes where the image is deployed."),
    equivalents={"checkov": ("CKV_DOCKER_2",)},
)
def no_healthcheck(df: Dockerfile, ctx: object) -> Iterator[Hit]:
    """Without a health check a hung process keeps its container "running" and keeps receiving traffic.

    Only the final stage matters (a HEALTHCHECK in a build stage is not in the image), unless the
    final stage builds FROM an earlier stage that has one. Informational: on Kubernetes the
    liveness/readiness probes do this job. ``HEALTHCHECK NONE`` is an explicit decision and passes.
    """
    stages = df.stages
    if not stages or not stages[-1] or stages[-1][0].cmd != "FROM":
        return
    by_alias: dict[str, list[Instruction]] = {}
    for st in stages:
        if st and st[0].cmd == "FROM":
            _, alias = _stage_alias(st[0])
            if alias:
                by_alias[alias] = st
    seen: set[str] = set()
    stage = stages[-1]
    while True:
        if any(i.cmd == "HEALTHCHECK" for i in stage):
            return
        base, _ = _stage_alias(stage[0])
        parent = by_alias.get(base)
        if parent is None or base in seen or parent is stage:
            break
        seen.add(base)
        stage = parent
    yield Hit("the final image defines no HEALTHCHECK", line=stages[-1][0].line,
              location="final-stage/no-healthcheck",
              fix="HEALTHCHECK --interval=30s --timeout=3s CMD wget -qO- http://127.0.0.1:8080/healthz || exit 1")
