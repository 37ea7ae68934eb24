from __future__ import annotations

import re
from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

_PROVIDER = re.compile(r'^[ \t]*provider[ \t]+"?(aws|awscc)"?[ \t]*\{', re.MULTILINE)
_ATTR = re.compile(r'^[ \t]*(access_key|secret_key|token)[ \t]*=[ \t]*"([^"\n]*)"', re.MULTILINE)
_ALIAS = re.compile(r'^[ \t]*alias[ \t]*=[ \t]*"([^"\n]*)"', re.MULTILINE)
ACCESS_KEY = re.compile(r"^(AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|A3T[A-Z0-9])[A-Z0-9]{16}$")
SECRET_KEY = re.compile(r"^[A-Za-z0-9/+=]{40}$")


def _block_end(text: str, brace: int) -> int:
    depth = 0
    in_str = False
    i = brace
    while i < len(text):
        ch = text[i]
        if in_str:
            if ch == "\\":
                i += 1
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return len(text)


def provider_blocks(file: str, text: str, key_file: str | None = None) -> Iterator[tuple[TfResource, str, int]]:
    """(pseudo-resource for the block, block text, offset of the block) for each AWS provider block.

    The Terraform loader keeps only resource and data blocks, so provider blocks are found here.
    """
    for m in _PROVIDER.finditer(text):
        end = _block_end(text, m.end() - 1)
        body = text[m.start():end + 1]
        line = text.count("\n", 0, m.start()) + 1
        alias = _ALIAS.search(body)
        name = f"{m.group(1)}.{alias.group(1)}" if alias else m.group(1)
        res = TfResource(type="provider", name=name, attrs={}, file=file, line=line,
                         end_line=line + body.count("\n"), block="provider")
        res.key = f"provider.{name}@{key_file or file}"  # key_file: the path ids are stable by
        yield res, body, m.start()


@check(
    id="CNSEC-TF-017",
    title="Hard-coded AWS credentials in the provider block",
    severity=Severity.CRITICAL,
    target="inventory",
    threats=("secret-access", "credential-abuse"),
    control="CTRL-SECRETS-MANAGEMENT",
    sensitive=True,
    remediation=("Remove access_key/secret_key from the provider: use a profile, environment variables, "
                 "an assumed role or CI OIDC federation; deactivate and rotate the committed key now."),
    equivalents={"checkov": ("CKV_AWS_41",)},
)
def provider_credentials(inv: object, ctx: object) -> Iterator[Hit]:
    """A key committed in Terraform is readable by everyone with the repository, its forks and CI logs,
    and gives whatever the key's user can do in the account, usually a lot for Terraform.

    A value counts when it is a literal that looks like an AWS access key id (AKIA…/ASIA…) or a
    40-character secret key; variables and expressions pass. The values are never shown.
    """
    texts = getattr(inv, "texts", {})
    if not isinstance(texts, dict):
        return
    for file, raw in texts.items():
        if not str(file).endswith(".tf") or "provider" not in raw or (
                "access_key" not in raw and "secret_key" not in raw):
            continue
        text = "\n".join(inv.lines(file))  # type: ignore[attr-defined]
        for res, body, offset in provider_blocks(file, text, inv.stable_path(file)):  # type: ignore[attr-defined]
            for a in _ATTR.finditer(body):
                attr, value = a.group(1), a.group(2).strip()
                if "${" in value:
                    continue
                if (attr == "access_key" and ACCESS_KEY.match(value)) or (
                        attr == "secret_key" and SECRET_KEY.match(value)):
                    line = text.count("\n", 0, offset + a.start()) + 1
                    yield Hit(f"provider {res.name!r} hard-codes an AWS {attr.replace('_', ' ')}",
                              line=line, location=f"provider.{res.name}.{attr}", resource=res,
                              fix=f"remove {attr}; export AWS_PROFILE (or use assume_role / OIDC)")
