from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.k8s.resource import K8sResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-K8S-052",
    title="CronJob (scheduled persistence vector)",
    severity=Severity.INFO,
    target="k8s",
    kinds=("CronJob",),
    threats=("backdoor-persistence",),
    control="CTRL-RBAC-LEAST-PRIVILEGE",
    remediation=("Review that this CronJob is expected; restrict who may create or edit CronJobs (RBAC on "
                 "batch/cronjobs) and set successfulJobsHistoryLimit/ttlSecondsAfterFinished."),
    equivalents={"kubescape": ("C-0026",)},
)
def cronjob_persistence(res: K8sResource, ctx: object) -> Iterator[Hit]:
    """A CronJob re-creates its pods on a schedule: attackers use one to persist in a cluster.

    Informational, as Kubescape's C-0026: every CronJob is listed so an unexpected one stands out in
    the inventory review.
    """
    schedule = res.get("spec", "schedule")
    when = f" on schedule {schedule!r}" if isinstance(schedule, str) else ""
    yield Hit(f"CronJob {res.name!r} runs pods{when}; make sure it is expected",
              path=("spec", "schedule") if schedule is not None else ("kind",))
