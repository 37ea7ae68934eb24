from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform._aws import UNKNOWN, is_on, setting
from cnsec.assess.checks.terraform._tf import to_int
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

FLAGS = ("require_lowercase_characters", "require_numbers", "require_symbols", "require_uppercase_characters")


def weaknesses(r: TfResource) -> list[str]:
    """What the account password policy leaves weak (CIS AWS 1.8-1.11; unknown settings pass)."""
    weak = []
    length = setting(r, "minimum_password_length")
    if length is not UNKNOWN and (to_int(length) or 0) < 14:
        weak.append("minimum_password_length below 14")
    for flag in FLAGS:
        if is_on(setting(r, flag)) is False:
            weak.append(f"{flag} off")
    reuse = setting(r, "password_reuse_prevention")
    if reuse is not UNKNOWN and (to_int(reuse) or 0) < 24:
        weak.append("password_reuse_prevention below 24")
    age = setting(r, "max_password_age")
    if age is not UNKNOWN and not 0 < (to_int(age) or 0) <= 90:
        weak.append("max_password_age unset or above 90")
    return weak


@check(
    id="CNSEC-TF-132",
    title="Weak IAM account password policy",
    severity=Severity.MEDIUM,
    target="terraform",
    resource_types=("aws_iam_account_password_policy",),
    threats=("credential-abuse",),
    control="CTRL-IAM-LEAST-PRIVILEGE",
    remediation=("Require 14+ characters with lower/upper case, numbers and symbols, prevent reuse of the "
                 "last 24 passwords and expire them within 90 days (or move people to SSO)."),
    equivalents={"checkov": ("CKV_AWS_9", "CKV_AWS_10", "CKV_AWS_11", "CKV_AWS_12", "CKV_AWS_13", "CKV_AWS_14",
                             "CKV_AWS_15")},
)
def aws_password_policy(r: TfResource, ctx: object) -> Iterator[Hit]:
    """Console passwords of IAM users are sprayed and stuffed like any other; short, simple or
    reused passwords fall first."""
    weak = weaknesses(r)
    if not weak:
        return
    yield Hit(f"{r.address}: {', '.join(weak)}", line=r.line, location="password policy",
              fix=("minimum_password_length        = 14\nrequire_lowercase_characters   = true\n"
                   "require_uppercase_characters   = true\nrequire_numbers                = true\n"
                   "require_symbols                = true\npassword_reuse_prevention      = 24\n"
                   "max_password_age               = 90"))
