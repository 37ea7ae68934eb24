"""Values that name where a secret lives rather than holding one.

Controllers take the *name* of a Kubernetes Secret in annotations and flags whose names end in
``secret``: ``cert-manager.io/inject-ca-from-secret: cert-manager/cert-manager-webhook-ca``,
``nginx.ingress.kubernetes.io/auth-tls-secret: default/ca-secret``,
``--webhook-ca-secret=app-cert-manager-webhook-ca``. The secret scanner sees a sensitive name with a
literal value; the assess checks know the Kubernetes convention and that such a value is an object
reference, not a credential.
"""

from __future__ import annotations

import re

from cnsec.data import key_parts

#: ``name`` or ``namespace/name``, each a DNS-1123 subdomain (what a Secret's name must be).
_OBJECT_REF = re.compile(r"^(?:[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?/)?[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?$")
#: Words before ``secret`` that make the name one of a credential itself (``client-secret``, ``jwt-secret``).
_CREDENTIAL_QUALIFIERS = frozenset({
    "client", "shared", "app", "api", "consumer", "jwt", "hmac", "session", "cookie", "signing", "encryption",
    "master", "oauth", "oidc", "webhook", "bootstrap", "cluster", "admin", "root", "access", "private", "token",
})
#: Longest word of a reference: generated credentials are long unbroken runs, object names are words.
_MAX_WORD = 15


def names_a_secret(key: str, value: str) -> bool:
    """``key`` (an annotation or a flag name) ends in ``secret`` and ``value`` is a Secret's name,
    ``[namespace/]name`` made of words, not a long random run (``client-secret`` and its kin hold
    credentials and are never taken for references)."""
    parts = key_parts(key.rsplit("/", 1)[-1])
    if len(parts) < 2 or parts[-1] != "secret" or parts[-2] in _CREDENTIAL_QUALIFIERS:
        return False
    v = value.strip()
    if not _OBJECT_REF.match(v):
        return False
    words = re.split(r"[-./]", v)
    return len(words) >= 2 and all(len(w) <= _MAX_WORD for w in words)
