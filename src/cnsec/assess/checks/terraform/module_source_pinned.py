from __future__ import annotations

import re
from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform.provider_credentials import _block_end
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

_MODULE = re.compile(r'^[ \t]*module[ \t]+"([A-Za-z0-9_.-]{1,200})"[ \t]*\{', re.MULTILINE)
_SOURCE = re.compile(r'^[ \t]*source[ \t]*=[ \t]*"([^"\n]*)"', re.MULTILINE)
_VERSION = re.compile(r'^[ \t]*version[ \t]*=[ \t]*"([^"\n]*)"', re.MULTILINE)
_COMMIT = re.compile(r"[?&]ref=[0-9a-f]{7,40}(?:&|$)")
#: An exact registry version: ``1.2.3`` or ``= 1.2.3`` (a pre-release suffix allowed), no range.
_EXACT = re.compile(r"^\s*=?\s*v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?\s*$")
_GIT = ("git::", "git@", "github.com/", "bitbucket.org/", "gitlab.com/", "hg::", "https://", "http://", "s3::",
        "gcs::")


def _example(constraint: str) -> str:
    """An exact version inside a constraint (``~> 16.0`` → ``16.0.0``), for the fix."""
    parts = re.findall(r"\d+", constraint)[:3] or ["1"]
    return ".".join(parts + ["0"] * (3 - len(parts)))


def _problem(source: str, version: str | None) -> str | None:
    """Why a module source is not pinned, or None when it is (or cannot be: a local path)."""
    if source.startswith(("./", "../")) or "${" in source:
        return None
    if source.startswith(_GIT) or "::" in source:
        if _COMMIT.search(source):
            return None
        return "is not pinned to a commit (?ref=<sha>)" if "ref=" not in source else (
            "is pinned to a tag or branch, which can be moved, not to a commit")
    if version is None:
        return "has no version: every init takes the newest release"
    if "${" in version or _EXACT.match(version):
        return None
    return f"takes any release matching {version!r}, not one exact version"


@check(
    id="CNSEC-TF-300",
    title="Terraform module from a registry or git not pinned to an exact version or commit",
    severity=Severity.LOW,
    target="inventory",
    threats=("malicious-image", "backdoor-persistence"),
    control="CTRL-PIN-DEPENDENCIES",
    remediation=("Pin registry modules to one exact version (version = \"1.2.3\") and git modules to a commit "
                 "(?ref=<40-hex sha>); update them deliberately, after review."),
    equivalents={"checkov": ("CKV_TF_1", "CKV_TF_2")},
)
def module_source_pinned(inv: object, ctx: object) -> Iterator[Hit]:
    """A module is code that runs with the deploying identity's rights: a version range or a branch
    pulls whatever is published next (the lock file pins providers, not modules), so a new or
    hijacked release is applied without review.

    Unlike Checkov's CKV_TF_1, an exact registry version passes: a registry module cannot be pinned
    to a commit, and a published registry version does not change.
    """
    texts = getattr(inv, "texts", {})
    if not isinstance(texts, dict):
        return
    for file, raw in texts.items():
        if not str(file).endswith(".tf") or "module" not in raw:
            continue
        for m in _MODULE.finditer(raw):
            body = raw[m.start():_block_end(raw, m.end() - 1) + 1]
            source = _SOURCE.search(body)
            if source is None:
                continue
            version = _VERSION.search(body)
            why = _problem(source.group(1), version.group(1) if version else None)
            if why is None:
                continue
            line = raw.count("\n", 0, m.start()) + 1
            res = TfResource(type="module", name=m.group(1), attrs={}, file=str(file), line=line,
                             end_line=line + body.count("\n"), block="module")
            res.key = f"module.{m.group(1)}@{file}"  # call names repeat across files
            where = "version" if version else "source"
            fix = (f'version = "{_example(version.group(1))}"  # one exact release' if version
                   else 'source = "git::https://github.com/org/repo.git?ref=<40-hex commit sha>"')
            yield Hit(f'module "{m.group(1)}" source {source.group(1)!r} {why}', resource=res,
                      line=line + body[:(version or source).start()].count("\n"), location=where, fix=fix)
