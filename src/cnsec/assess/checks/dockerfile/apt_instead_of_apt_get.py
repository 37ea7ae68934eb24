from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.dockerfile._shell import run_commands
from cnsec.assess.loaders.dockerfile import Dockerfile
from cnsec.model.severity import Severity


@check(
    id="CNSEC-DKR-008",
    title="apt used instead of apt-get in RUN",
    severity=Severity.LOW,
    target="dockerfile",
    threats=("malicious-image",),
    control="CTRL-DOCKERFILE-HYGIENE",
    remediation="Use apt-get (or apt-cache) in scripts: RUN apt-get update && apt-get install -y <pkg>.",
    equivalents={"checkov": ("CKV_DOCKER_9",)},
)
def apt_instead_of_apt_get(df: Dockerfile, ctx: object) -> Iterator[Hit]:
    """``apt`` is the interactive front end: its command-line interface is declared unstable, it warns
    on scripts and may prompt, so builds break or change behaviour between releases."""
    for n, ins in enumerate(df.of("RUN")):
        for cmd in run_commands(ins):
            if cmd.program == "apt":
                words = cmd.words
                yield Hit(f"RUN uses `{' '.join(words[:3])}`", line=ins.line, location=f"run[{n}]",
                          fix="apt-get " + " ".join(words[1:]))
                break
