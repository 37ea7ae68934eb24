from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.dockerfile._shell import SHELLS, run_commands, script_of
from cnsec.assess.loaders.dockerfile import Dockerfile
from cnsec.model.severity import Severity

_FETCHERS = {"curl", "wget", "fetch"}
_INTERPRETERS = SHELLS | {"python", "python3", "python2", "perl", "ruby", "node", "php"}
_SUBST = re.compile(r"(?:\$\(|<\(|`)\s*(?:curl|wget)\b")


@check(
    id="CNSEC-DKR-010",
    title="Remote script piped into a shell",
    severity=Severity.HIGH,
    target="dockerfile",
    threats=("malicious-image",),
    control="CTRL-IMAGE-PINNING",
    remediation=("Download the script to a file, verify its checksum or signature, then run it: "
                 "RUN curl -fsSLo /tmp/install.sh <url> && echo '<sha256>  /tmp/install.sh' | "
                 "sha256sum -c - && sh /tmp/install.sh"),
)
def remote_script_piped_to_shell(df: Dockerfile, ctx: object) -> Iterator[Hit]:
    """``curl … | sh`` runs whatever the server (or anyone on the path) sends at build time, as root,
    unverified and unreviewable: a classic supply-chain entry point into the image."""
    for n, ins in enumerate(df.of("RUN")):
        cmds = run_commands(ins)
        found = None
        for prev, cmd in itertools.pairwise(cmds):
            if cmd.after == "|" and prev.program in _FETCHERS and cmd.program in _INTERPRETERS:
                found = f"`{prev.program} … | {cmd.program}`"
                break
        if found is None and _SUBST.search(script_of(ins)):
            found = "a shell running the output of curl/wget"
        if found:
            yield Hit(f"RUN pipes a downloaded script into an interpreter: {found}", line=ins.line,
                      location=f"run[{n}]",
                      fix="RUN curl -fsSLo /tmp/install.sh <url> && echo '<sha256>  /tmp/install.sh' "
                          "| sha256sum -c - && sh /tmp/install.sh")
