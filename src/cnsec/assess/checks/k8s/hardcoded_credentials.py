from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cnsec.assess.checks._values import literal_part
from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.k8s._secret_refs import names_a_secret
from cnsec.k8s.resource import K8sResource
from cnsec.k8s.workload import as_workload
from cnsec.model.severity import Severity

#: Annotations that copy the whole manifest (their secrets are reported where they really are).
SKIP_ANNOTATIONS = {"kubectl.kubernetes.io/last-applied-configuration", "cnsec.io/ignore"}


def _pairs(res: K8sResource) -> Iterator[tuple[tuple[str | int, ...], str | None, str]]:
    """(path, key, value) of every literal a credential could hide in."""
    for key, value in res.annotations.items():
        if isinstance(value, str) and str(key) not in SKIP_ANNOTATIONS:
            yield ("metadata", "annotations", str(key)), str(key), value
    if res.kind == "ConfigMap":
        data = res.doc.get("data")
        if isinstance(data, dict):
            for key, value in data.items():
                if isinstance(value, str):
                    yield ("data", str(key)), str(key), value
        return
    w = as_workload(res)
    if w is None:
        return
    for c in w.containers:
        env = c.spec.get("env")
        if isinstance(env, list):
            for i, item in enumerate(env):
                if isinstance(item, dict) and isinstance(item.get("value"), str) and item.get("name"):
                    yield c.at("env", i, "value"), str(item["name"]), item["value"]
        for field in ("args", "command"):
            items = c.spec.get(field)
            if isinstance(items, list):
                for i, arg in enumerate(items):
                    if isinstance(arg, str) and "=" in arg and arg.startswith("-"):
                        flag, _, val = arg.partition("=")
                        yield c.at(field, i), flag.lstrip("-"), val
                    elif isinstance(arg, str):
                        yield c.at(field, i), None, arg


def _names_an_object(path: tuple[str | int, ...]) -> bool:
    """An annotation or a command-line flag: where controllers take object names by convention."""
    return path[0] == "metadata" or (len(path) >= 2 and path[-2] in ("args", "command"))


@check(
    id="CNSEC-K8S-029",
    title="Hard-coded credential in a manifest",
    severity=Severity.HIGH,
    target="k8s",
    threats=("secret-access",),
    control="CTRL-SECRETS-MANAGEMENT",
    sensitive=True,
    remediation="Move the value into a Secret (sealed or SOPS-encrypted in git, or from a secret manager) and "
                "reference it with secretKeyRef or a mounted file; rotate the exposed credential.",
)
def hardcoded_credentials(res: K8sResource, ctx: Any) -> Iterator[Hit]:
    """A password or token written into an env var, a ConfigMap, an annotation or a container argument is
    readable by anyone who can read the manifest, its git history or the object in the cluster (ConfigMaps
    and pod specs are not treated as secret by RBAC or encryption at rest). The detection is the secret
    scanner's own engine (``cnsec data scan``): known token formats anywhere, and literal values under
    sensitive names unless they are placeholders or references. Secrets themselves are left to
    CNSEC-K8S-059. The finding shows a redacted preview, never the value.

    No peer equivalent on purpose: Kubescape's C-0012 flags sensitive variable *names* even when the
    value comes from a secretKeyRef/envFrom (which is the fix, not the problem), and reports the AWS
    documentation's example key; this check reports literal credential values only. So the name of a
    Secret in an annotation or flag that takes one (``cert-manager.io/inject-ca-from-secret``,
    ``nginx.ingress.kubernetes.io/auth-tls-secret``, ``--webhook-ca-secret``) is not reported, and of
    a shell expansion ``${VAR:-default}`` only a literal default is judged."""
    if res.kind in ("Secret", "SealedSecret"):
        return
    from cnsec.data import scan_value

    for path, key, value in _pairs(res):
        if key is not None and _names_an_object(path) and names_a_secret(key, value):
            continue
        literal = literal_part(value)
        if literal is None:
            continue
        hit = scan_value(key, literal)
        if hit is None:
            continue
        where = f"{key!r}" if key else "an argument"
        yield Hit(f"{hit.title} in {where}: {hit.preview}", path=path,
                  location=f"{'.'.join(map(str, path))}#{hit.fingerprint[:12]}")

