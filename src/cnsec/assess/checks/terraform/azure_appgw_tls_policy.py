from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._azure import setting
from cnsec.assess.checks.terraform._tf import as_list
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

#: Predefined policies whose minimum is TLS 1.2.
MODERN = frozenset({"AppGwSslPolicy20170401S", "AppGwSslPolicy20220101", "AppGwSslPolicy20220101S"})


@check(
    id="CNSEC-TF-252",
    title="Application Gateway accepts TLS older than 1.2",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("azurerm_application_gateway",),
    threats=("weak-cryptography", "network-interception"),
    control="CTRL-STRONG-CRYPTO",
    remediation='Add ssl_policy { policy_type = "Predefined"  policy_name = "AppGwSslPolicy20220101S" }.',
    equivalents={"checkov": ("CKV_AZURE_218",)},
)
def azure_appgw_tls_policy(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Without an ssl_policy a gateway gets the service's old default policy (AppGwSslPolicy20150501,
    TLS 1.0 and CBC ciphers); TLS 1.0/1.1 let a downgrade expose the traffic, and a custom TLS 1.2 policy
    that lists CBC, 3DES or non-forward-secret suites lets a client be steered to them.
    """
    state, policy = setting(r, "ssl_policy")
    if state == "unknown":
        return
    if state == "set" and isinstance(policy, dict):
        values = [policy.get(k) for k in ("policy_type", "policy_name", "min_protocol_version")]
        if any(isinstance(v, str) and "${" in v for v in values):
            return
        kind, name, minimum = values
        if kind in ("Custom", "CustomV2") and minimum in ("TLSv1_2", "TLSv1_3"):
            weak = [c for c in as_list(policy.get("cipher_suites")) if isinstance(c, str) and _weak(c)]
            if not weak:
                return
            yield Hit(f"{r.address} allows weak cipher suites: {', '.join(weak[:3])}",
                      line=r.line_of("ssl_policy"), location="ssl_policy.cipher_suites",
                      fix=('cipher_suites = ["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", '
                           '"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]'))
            return
        if name in MODERN:
            return
    yield Hit(f"{r.address} has no TLS 1.2 ssl_policy", line=r.line_of("ssl_policy"), location="ssl_policy",
              fix='ssl_policy {\n  policy_type = "Predefined"\n  policy_name = "AppGwSslPolicy20220101S"\n}')


def _weak(cipher: str) -> bool:
    """CBC modes, 3DES/RC4, static-RSA key exchange, finite-field DHE: padding oracles, no forward secrecy."""
    return any(w in cipher for w in ("CBC", "3DES", "RC4")) or cipher.startswith(("TLS_RSA_", "TLS_DHE_"))
