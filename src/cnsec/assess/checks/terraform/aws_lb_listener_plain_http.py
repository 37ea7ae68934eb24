from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import UNKNOWN, setting
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity


@check(
    id="CNSEC-TF-123",
    title="Load balancer listener serves plain HTTP",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("aws_lb_listener", "aws_alb_listener"),
    threats=("network-interception",),
    control="CTRL-TLS",
    remediation=("Serve HTTPS (protocol = \"HTTPS\" with a certificate_arn) and make the port-80 listener "
                 "redirect to it: default_action { type = \"redirect\" redirect { protocol = \"HTTPS\" "
                 "port = \"443\" status_code = \"HTTP_301\" } }."),
    equivalents={"checkov": ("CKV_AWS_2",)},
)
def aws_lb_listener_plain_http(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Requests over plain HTTP carry cookies, tokens and form data readable and changeable by anyone
    on the path. A listener that only redirects to HTTPS is fine; one that forwards is not.

    The provider's default protocol is HTTP for an application load balancer's listener, so an
    unset protocol on a listener without a certificate counts as HTTP.
    """
    protocol = setting(r, "protocol")
    if protocol is UNKNOWN or protocol not in (None, "HTTP"):
        return
    if protocol is None and (setting(r, "certificate_arn") is not None or setting(r, "ssl_policy") is not None):
        return  # a certificate makes it HTTPS in practice; the provider would reject HTTP with one
    action = setting(r, "default_action", "type")
    to = setting(r, "default_action", "redirect", "protocol")
    if action is UNKNOWN or (action == "redirect" and to in ("HTTPS", UNKNOWN)):
        return
    yield Hit(f"{r.address} serves plain HTTP", line=r.line_of("protocol"), location="protocol",
              fix=('default_action {\n  type = "redirect"\n  redirect {\n    port        = "443"\n'
                   '    protocol    = "HTTPS"\n    status_code = "HTTP_301"\n  }\n}'))
