from __future__ import annotations

import re
from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.dockerfile._shell import run_commands
from cnsec.assess.loaders.dockerfile import Dockerfile
from cnsec.model.severity import Severity

_OCTAL = re.compile(r"^[0-7]{3,4}$")
_SYMBOLIC = re.compile(r"(?:^|,)[ugo]*[ao][ugo]*[+=][rwxXst]*w")


def world_writable(mode: str) -> bool:
    """``777``, ``0666``, ``o+w``, ``a=rwx``… (a mode that lets every user write)."""
    if _OCTAL.match(mode):
        return int(mode[-1]) & 2 == 2
    return bool(_SYMBOLIC.search(mode))


@check(
    id="CNSEC-DKR-011",
    title="World-writable files or directories (chmod 777)",
    severity=Severity.MEDIUM,
    target="dockerfile",
    threats=("data-tampering", "privilege-escalation"),
    control="CTRL-DOCKERFILE-HYGIENE",
    remediation=("Give files to the user that needs them (COPY --chown=10001:10001, chown) with modes "
                 "such as 755/644 (or 750/640); never 777/666."),
)
def world_writable_permissions(df: Dockerfile, ctx: object) -> Iterator[Hit]:
    """A world-writable file lets any process in the container, whatever its user, replace code or
    configuration that a more privileged process later runs or trusts."""
    for n, ins in enumerate(df.instructions):
        if ins.cmd in ("COPY", "ADD"):
            mode = ins.flags.get("chmod", "")
            if mode and world_writable(mode):
                yield Hit(f"{ins.cmd} --chmod={mode} makes the files world-writable", line=ins.line,
                          location=f"copy-chmod[{n}]", fix=f"{ins.cmd} --chmod=755 …")
            continue
        if ins.cmd != "RUN":
            continue
        for cmd in run_commands(ins):
            words = cmd.words
            if cmd.program != "chmod":
                continue
            operands = [w for w in words[1:] if not w.startswith("-")]  # -R, -v, --reference…
            if operands and world_writable(operands[0]):
                yield Hit(f"RUN chmod {operands[0]} makes files world-writable", line=ins.line,
                          location=f"run[{n}]", fix="chmod 755 … (directories) / chmod 644 … (files)")
                break
