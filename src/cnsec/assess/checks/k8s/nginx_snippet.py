from __future__ import annotations

import re
from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.patches import remove_patch, set_patch
from cnsec.k8s.resource import K8sResource
from cnsec.model.severity import Severity

DANGEROUS = re.compile(r"\blua_|_lua\b|_lua_|\balias\b|kubernetes\.io|serviceaccount|/var/run/secrets")


@check(
    id="CNSEC-K8S-040",
    title="NGINX ingress snippet annotation",
    severity=Severity.HIGH,
    target="k8s",
    kinds=("Ingress", "ConfigMap"),
    threats=("exposed-interface", "secret-access"),
    control="CTRL-REMOVE-ADMIN-TOOLS",
    remediation="Remove *-snippet annotations and set allow-snippet-annotations: \"false\" in the "
                "ingress-nginx ConfigMap; use the controller's dedicated annotations instead.",
    equivalents={"checkov": ("CKV_K8S_153",)},
)
def nginx_snippet(res: K8sResource, ctx: object) -> Iterator[Hit]:
    """Snippet annotations (``nginx.ingress.kubernetes.io/server-snippet``, ``configuration-snippet``
    …) paste raw NGINX configuration into the shared controller, which runs with a token that can read
    every Secret in the cluster: whoever may create an Ingress can read them (CVE-2021-25742, and
    CVE-2025-1974 "IngressNightmare"). Every snippet annotation is reported (like Checkov CKV_K8S_153);
    the message says when it contains Lua, alias or token paths (CKV_K8S_152/154's narrower
    patterns). An ingress-nginx ConfigMap with ``allow-snippet-annotations: "true"`` is reported
    too."""
    if res.kind == "ConfigMap":
        if str(res.get("data", "allow-snippet-annotations")).lower() == "true":
            cm_path = ("data", "allow-snippet-annotations")
            yield Hit(f"ConfigMap {res.name!r} allows snippet annotations", path=cm_path,
                      patch=set_patch(res, cm_path, "false"))
        return
    for key, value in res.annotations.items():
        if "snippet" not in str(key):
            continue
        danger = " with Lua, alias or token access" if isinstance(value, str) and DANGEROUS.search(value) \
            else ""
        path = ("metadata", "annotations", str(key))
        yield Hit(f"Ingress {res.name!r} has snippet annotation {key!r}{danger}", path=path,
                  patch=remove_patch(path))
