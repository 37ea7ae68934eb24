from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

#: Siblings that make a block a name/value pair (a tag, a taint, a label selector term): its ``key`` is a name.
_PAIR_SIBLINGS = frozenset({"value", "values", "effect", "operator", "propagate_at_launch"})


def _strings(node: Any, top: str | None = None, key: str | None = None,
             path: str = "") -> Iterator[tuple[str, str, str, str]]:
    """(top-level attribute, key, dotted path, value) for every string literal in a resource body; the
    ``key`` of a name/value pair block is yielded as ``pair-key``, so that it is never taken for a key."""
    if isinstance(node, dict):
        pair = "key" in node and not _PAIR_SIBLINGS.isdisjoint(node)
        for k, v in node.items():
            k = str(k)
            name = "pair-key" if pair and k == "key" else k
            yield from _strings(v, top or k, name, f"{path}.{k}" if path else k)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _strings(v, top, key, f"{path}[{i}]")
    elif isinstance(node, str) and top is not None:
        yield top, key or top, path, node


#: Resources whose ``key`` is the name of a stored object (``key = "customer-master.xlsx"``), not a key.
_OBJECT_KEYS = frozenset({"aws_s3_object", "aws_s3_bucket_object", "aws_s3_object_copy"})
#: ``tag { key = "Name" … }`` blocks (autoscaling groups, launch templates): a tag's name.
_TAG_KEY = re.compile(r"(?:^|\.)tags?(?:\[\d+\])?\.key$")
#: Attributes that hold a *public* key: ``pgp_key`` (``keybase:user`` or a base64 public key that
#: aws_iam_access_key and aws_iam_user_login_profile encrypt their outputs to), ``public_key``
#: (aws_key_pair), ``ssh_public_key``, ``public_key_openssh``.
_PUBLIC_KEY = re.compile(r"^(?:pgp_key|gpg_key|[a-z0-9_]*public_key[a-z0-9_]*|[a-z0-9_]*_pubkey)$")


@check(
    id="CNSEC-TF-031",
    title="Hard-coded secret in a Terraform attribute",
    severity=Severity.HIGH,
    target="terraform",
    threats=("secret-access",),
    control="CTRL-SECRETS-MANAGEMENT",
    sensitive=True,
    remediation="Generate the secret (random_password) or read it from a secret manager (aws_secretsmanager_secret_"
                "version, vault_generic_secret) and mark variables `sensitive = true`; rotate the committed value. "
                "Remember that Terraform state holds it too: keep state encrypted.",
)
def hardcoded_secret(r: TfResource, ctx: Any) -> Iterator[Hit]:
    """A password or key written as a literal in a resource (``password = "…"`` on a database, a token on a
    provider resource) is in the repository, every fork and every plan output. Detection is the secret
    scanner's engine (``cnsec data scan``): token formats anywhere, and literals under sensitive names
    unless they are references (``var.x``, ``${…}``) or placeholders. The value is never shown. A
    ``key`` that names a stored object (``aws_s3_object``), a tag, or the key of any name/value pair block
    (``taint { key = "nvidia.com/gpu" effect = … }``, a selector term) is a name, not a key, and a public
    key (``pgp_key = "keybase:…"``, ``public_key``) is published on purpose."""
    from cnsec.data import scan_value

    for top, key, path, value in _strings(r.attrs):
        if value.startswith("${") or ("." in value and value.split(".")[0] in ("var", "local", "data", "module")):
            continue
        if (key == "key" and (r.type in _OBJECT_KEYS or _TAG_KEY.search(path))) or _PUBLIC_KEY.search(key):
            continue
        # a pair's key is a name: only a token format (AKIA…, ghp_…) written there is still a secret
        hit = scan_value("name" if key == "pair-key" else key, value)
        if hit is None:
            continue
        yield Hit(f"{hit.title} in {path}: {hit.preview}", line=r.line_of(top),
                  location=f"{path}#{hit.fingerprint[:12]}",
                  fix=f'{path.rsplit(".", 1)[-1]} = random_password.{r.name}.result  # or a secret manager reference')
