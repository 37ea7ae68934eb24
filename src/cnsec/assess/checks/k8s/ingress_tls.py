from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.patches import set_patch
from cnsec.k8s.resource import K8sResource
from cnsec.model.severity import Severity


def _hosts(res: K8sResource) -> list[str]:
    rules = res.get("spec", "rules")
    out: list[str] = []
    if isinstance(rules, list):
        for r in rules:
            if isinstance(r, dict) and isinstance(r.get("host"), str) and r["host"] not in out:
                out.append(r["host"])
    return out


@check(
    id="CNSEC-K8S-037",
    title="Ingress without TLS",
    severity=Severity.MEDIUM,
    target="k8s",
    kinds=("Ingress",),
    threats=("network-interception",),
    control="CTRL-TLS",
    remediation="Add spec.tls with the Ingress hosts and a certificate Secret (cert-manager can issue it), "
                "and redirect HTTP to HTTPS.",
    equivalents={"kubescape": ("C-0263",)},
)
def ingress_tls(res: K8sResource, ctx: object) -> Iterator[Hit]:
    """An Ingress without ``spec.tls`` serves plain HTTP: credentials, session cookies and data cross
    the internet readable and modifiable by anyone on the path."""
    tls = res.get("spec", "tls")
    if isinstance(tls, list) and any(isinstance(t, dict) for t in tls):
        return
    entry: dict[str, object] = {"secretName": f"{res.name}-tls"}
    hosts = _hosts(res)
    if hosts:
        entry = {"hosts": hosts, **entry}
    path = ("spec", "tls")
    yield Hit(f"Ingress {res.name!r} has no TLS section", path=path,
              patch=set_patch(res, path, [entry]))
