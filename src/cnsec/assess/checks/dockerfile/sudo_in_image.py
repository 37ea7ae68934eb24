from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.dockerfile._shell import commands, run_commands, script_of
from cnsec.assess.loaders.dockerfile import Dockerfile
from cnsec.model.severity import Severity

_PKG_INSTALL = {"apt-get": "install", "apt": "install", "apk": "add", "yum": "install", "dnf": "install",
                "microdnf": "install", "zypper": "install"}


@check(
    id="CNSEC-DKR-009",
    title="sudo used or installed in the image",
    severity=Severity.MEDIUM,
    target="dockerfile",
    threats=("privilege-escalation",),
    control="CTRL-NON-ROOT",
    remediation=("Do not use sudo: run root-only build steps before switching USER (USER root … USER "
                 "10001), and use gosu/su-exec in entrypoints; do not install sudo in the final image."),
)
def sudo_in_image(df: Dockerfile, ctx: object) -> Iterator[Hit]:
    """sudo in an image means the unprivileged user can become root again, which defeats USER; in RUN
    it also has unpredictable TTY and signal behaviour. Installing the sudo package is flagged in the
    final stage only (build stages are not shipped)."""
    final = df.final_stage
    final_lines = {i.line for i in final}
    for n, ins in enumerate(df.of("RUN", "CMD", "ENTRYPOINT")):
        cmds = run_commands(ins) if ins.cmd == "RUN" else commands(script_of(ins))
        for cmd in cmds:
            if cmd.argv and cmd.argv[0].rsplit("/", 1)[-1] == "sudo":
                yield Hit(f"{ins.cmd} runs a command through sudo", line=ins.line, location=f"sudo[{n}]",
                          fix="USER root\n" + " ".join(cmd.words) + "\nUSER 10001")
                break
            words = cmd.words
            if (ins.line in final_lines and cmd.program in _PKG_INSTALL and "sudo" in words[2:]
                    and _PKG_INSTALL[cmd.program] in words[1:]):
                yield Hit("the final image installs the sudo package", line=ins.line,
                          location=f"install-sudo[{n}]", fix="remove sudo from the package list")
                break
