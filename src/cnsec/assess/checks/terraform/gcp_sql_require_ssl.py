from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._gcp import first, is_true, known, sub
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

_ENCRYPTED = ("ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED")


@check(
    id="CNSEC-TF-323",
    title="Cloud SQL instance accepts unencrypted connections",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("google_sql_database_instance",),
    threats=("network-interception", "credential-abuse"),
    control="CTRL-TLS",
    remediation=('Set settings { ip_configuration { ssl_mode = "ENCRYPTED_ONLY" } } '
                 "(or TRUSTED_CLIENT_CERTIFICATE_REQUIRED)."),
    equivalents={"checkov": ("CKV_GCP_6",)},
)
def gcp_sql_require_ssl(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Cloud SQL allows plaintext connections unless told otherwise: passwords and query results
    then cross the network readable by anyone on the path.

    ENCRYPTED_ONLY passes (Checkov asks for client certificates on MySQL and PostgreSQL): it is what
    refuses plaintext; client certificates add authentication, not encryption.
    """
    ip = sub(first(r, "settings"), "ip_configuration")
    if ip is None and "ip_configuration" in r.unknown_blocks:
        return
    mode = (ip or {}).get("ssl_mode")
    require = (ip or {}).get("require_ssl")
    if mode in _ENCRYPTED or (mode is not None and not known(mode)) or is_true(require) or (
            mode is None and require is not None and not known(require)):
        return
    said = f"ssl_mode {mode!r}" if mode else "no ssl_mode"
    yield Hit(f"{r.address} accepts plaintext connections ({said})", line=r.line_of("settings"),
              location="settings.ip_configuration.ssl_mode", fix='ssl_mode = "ENCRYPTED_ONLY"')
