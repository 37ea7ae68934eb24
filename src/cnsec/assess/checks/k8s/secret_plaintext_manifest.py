from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.loaders.k8s import K8sResource
from cnsec.model.severity import Severity

#: Secret types whose data is filled in by the cluster, not by whoever writes the manifest.
_CLUSTER_FILLED = {"kubernetes.io/service-account-token"}


@check(
    id="CNSEC-K8S-059",
    title="Secret stored unencrypted in a manifest",
    severity=Severity.MEDIUM,
    target="k8s",
    kinds=("Secret",),
    threats=("secret-access",),
    control="CTRL-SECRETS-MANAGEMENT",
    remediation=("Do not commit Secret values: use SealedSecrets, SOPS, the External Secrets Operator, or "
                 "encrypt the values with `cnsec data encrypt --values`; rotate values already committed."),
)
def secret_plaintext_manifest(res: K8sResource, ctx: object) -> Iterator[Hit]:
    """A committed Secret's ``data`` is only base64 and ``stringData`` is plain text: everyone who can
    read the repository, its forks and its CI logs can read the credential.

    This check is about where the Secret lives (a manifest in the repository); whether a value looks
    like a real credential is the secret-scanning check's job. Secrets without values, and
    service-account token Secrets (filled in by the cluster), pass. A cluster dump fails too: it has
    the same values in the same form.
    """
    stype = res.get("type")
    if isinstance(stype, str) and stype in _CLUSTER_FILLED:
        return
    for field_name in ("stringData", "data"):
        values = res.get(field_name)
        if not isinstance(values, dict) or not values:
            continue
        keys = [k for k, v in values.items() if v not in (None, "")]
        if not keys:
            continue
        shown = ", ".join(str(k) for k in keys[:5]) + (", …" if len(keys) > 5 else "")
        form = "in plain text" if field_name == "stringData" else "base64-encoded, not encrypted"
        yield Hit(f"Secret {res.name!r} carries {len(keys)} value(s) {form} in {field_name}: {shown}",
                  path=(field_name,), location=field_name)
