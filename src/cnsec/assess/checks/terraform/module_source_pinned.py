from __future__ import annotations

import re
from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.terraform.provider_credentials import _block_end
from cnsec.assess.loaders.terraform import TfResource
from cnsec.model.severity import Severity

_MODULE = re.compile(r'^[ \t]*module[ \t]+"([A-Za-z0-9_-]{1,200})"[ \t]*\{', re.MULTILINE)
_SOURCE = re.compile(r'^[ \t]*source[ \t]*=[ \t]*"([^"\n]*)"', re.MULTILINE)
_COMMIT = re.compile(r"[?&]ref=[0-9a-f]{40}\b")


def module_blocks(file: str, text: str) -> Iterator[tuple[TfResource, str]]:
    """(pseudo-resource for the block, its ``source`` or "" when not a literal) for each ``module`` call.

    The Terraform loader follows module calls rather than keeping them, so they are found here.
    """
    for m in _MODULE.finditer(text):
        body = text[m.start():_block_end(text, m.end() - 1) + 1]
        line = text.count("\n", 0, m.start()) + 1
        res = TfResource(type="module", name=m.group(1), attrs={}, file=file, line=line,
                         end_line=line + body.count("\n"), block="module")
        res.key = f"module.{m.group(1)}@{file}"
        src = _SOURCE.search(body)
        res.attr_lines["source"] = line + body.count("\n", 0, src.start()) if src else line
        yield res, src.group(1) if src else ""


@check(
    id="CNSEC-TF-124",
    title="Module source not pinned to a commit",
    severity=Severity.LOW,
    target="inventory",
    threats=("malicious-image",),
    control="CTRL-IMAGE-PINNING",
    remediation=("Pin remote modules to an immutable revision: a git source with ?ref=<40-hex commit> "
                 "(e.g. git::https://github.com/org/mod.git?ref=<sha>), or vendor the module locally."),
    equivalents={"checkov": ("CKV_TF_1",)},
)
def module_source_pinned(inv: object, ctx: object) -> Iterator[Hit]:
    """A registry version or git tag is a name the module's publisher (or whoever takes over their
    account) can point at new code; ``terraform init`` then runs it with the deployer's cloud
    credentials. A commit hash cannot be moved.

    Local modules (``./``, ``../``) are part of the repository and pass; a source that is not a
    literal string is unknown and passes.
    """
    texts = getattr(inv, "texts", {})
    if not isinstance(texts, dict):
        return
    for file, raw in texts.items():
        if not str(file).endswith(".tf") or "module" not in raw:
            continue
        for res, source in module_blocks(str(file), "\n".join(inv.lines(file))):  # type: ignore[attr-defined]
            if not source or "${" in source or source.startswith(("./", "../")) or _COMMIT.search(source):
                continue
            yield Hit(f'module "{res.name}" takes {source!r} by a movable name, not a commit',
                      line=res.attr_lines["source"], location=f"module.{res.name}.source", resource=res,
                      fix=f'source = "git::https://github.com/<owner>/<repo>.git?ref=<40-hex commit>"  '
                          f"# instead of {source!r}")
