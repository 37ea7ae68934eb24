from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.k8s.resource import K8sResource
from cnsec.model.severity import Severity

#: Secret types whose data is filled in by the cluster, not by whoever writes the manifest.
_CLUSTER_FILLED = {"kubernetes.io/service-account-token"}
#: Argo CD keeps repository and cluster settings in labelled Secrets beside their credentials; these keys
#: are settings Argo CD documents as such (the URL, the kind of repository, flags), not credentials
#: (argo-cd docs/operator-manual/declarative-setup.md). Password, keys, tokens and `config` still count.
_ARGOCD_LABEL = "argocd.argoproj.io/secret-type"
_ARGOCD_SETTINGS = frozenset({
    "type", "url", "name", "project", "server", "namespaces", "clusterResources", "enableLFS", "enableOCI",
    "insecure", "insecureIgnoreHostKey", "forceHttpBasicAuth", "proxy", "noProxy", "githubAppID",
    "githubAppInstallationID", "githubAppEnterpriseBaseUrl", "tlsClientCertData",
})


@check(
    id="CNSEC-K8S-059",
    title="Secret stored unencrypted in a manifest",
    severity=Severity.MEDIUM,
    target="k8s",
    kinds=("Secret",),
    threats=("secret-access",),
    control="CTRL-SECRETS-MANAGEMENT",
    sensitive=True,
    remediation=("Do not commit Secret values: use SealedSecrets, SOPS, the External Secrets Operator, or "
                 "encrypt the values with `cnsec data encrypt --values`; rotate values already committed."),
)
def secret_plaintext_manifest(res: K8sResource, ctx: object) -> Iterator[Hit]:
    """A committed Secret's ``data`` is only base64 and ``stringData`` is plain text: everyone who can
    read the repository, its forks and its CI logs can read the credential.

    This check is about where the Secret lives (a manifest in the repository); whether a value looks
    like a real credential is the secret-scanning check's job. Secrets without values, service-account
    token Secrets (filled in by the cluster) and the documented settings of Argo CD's repository and
    cluster Secrets (their URL and type are not credentials; their password, key or token are) pass.
    A cluster dump fails too: it has the same values in the same form. Values are never shown: report
    snippets mask their lines.
    """
    stype = res.get("type")
    if isinstance(stype, str) and stype in _CLUSTER_FILLED:
        return
    settings = _ARGOCD_SETTINGS if res.labels.get(_ARGOCD_LABEL) else frozenset()
    for field_name in ("stringData", "data"):
        values = res.get(field_name)
        if not isinstance(values, dict):
            continue
        form = "in plain text" if field_name == "stringData" else "base64-encoded, not encrypted"
        for key, value in values.items():
            if value in (None, "") or key in settings:
                continue
            # one finding per value: each value line is masked in report snippets, and each is a
            # credential to rotate
            yield Hit(f"Secret {res.name!r} stores {str(key)!r} {form} ({field_name})",
                      path=(field_name, str(key)), location=f"{field_name}.{key}")
