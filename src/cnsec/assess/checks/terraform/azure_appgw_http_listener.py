from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._tf import is_expr, nth_block_line
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-251",
    title="Application Gateway serves an application over plain HTTP",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("azurerm_application_gateway",),
    threats=("network-interception",),
    control="CTRL-TLS",
    remediation=('Give the listener protocol = "Https" with an ssl_certificate_name, and point the HTTP listener\'s '
                 "routing rule at a redirect_configuration to HTTPS."),
    equivalents={"checkov": ("CKV_AZURE_217",)},
)
def azure_appgw_http_listener(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Traffic on an HTTP listener crosses the internet unencrypted: sessions and credentials can be read
    and altered on the way. An HTTP listener whose every routing rule redirects (to HTTPS) passes.
    """
    rules = r.blocks("request_routing_rule")
    for n, listener in enumerate(r.blocks("http_listener")):
        protocol = listener.get("protocol")
        if not isinstance(protocol, str) or is_expr(protocol) or protocol.lower() != "http":
            continue
        name = listener.get("name")
        using = [rule for rule in rules if rule.get("http_listener_name") == name]
        if using and all(rule.get("redirect_configuration_name") is not None for rule in using):
            continue
        yield Hit(f"{r.address} listener {name!r} serves plain HTTP", line=nth_block_line(r, ctx, "http_listener", n),
                  location=f"http_listener[{n}]",
                  fix='protocol             = "Https"\nssl_certificate_name = "app-cert"')
