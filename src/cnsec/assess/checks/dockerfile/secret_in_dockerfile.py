from __future__ import annotations

import shlex
from collections.abc import Iterator
from typing import Any

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.loaders.dockerfile import Dockerfile
from cnsec.model.severity import Severity


def _assignments(value: str, cmd: str) -> list[tuple[str, str]]:
    """``ENV A=1 B="two"``, legacy ``ENV A 1`` and ``ARG A=1`` as (name, value) pairs."""
    text = value.strip()
    if not text:
        return []
    try:
        words = shlex.split(text, posix=True)
    except ValueError:
        words = text.split()
    if cmd == "ENV" and words and "=" not in words[0]:
        return [(words[0], " ".join(words[1:]))] if len(words) > 1 else []
    out = []
    for w in words:
        name, eq, val = w.partition("=")
        if eq and val:
            out.append((name, val))
    return out


@check(
    id="CNSEC-DKR-004",
    title="Secret in ENV, ARG or RUN",
    severity=Severity.HIGH,
    target="dockerfile",
    threats=("secret-access",),
    control="CTRL-SECRETS-MANAGEMENT",
    sensitive=True,
    remediation="Pass build secrets with RUN --mount=type=secret and runtime secrets through the orchestrator "
                "(a Kubernetes Secret); never bake them into ENV, ARG or RUN lines, which every image layer "
                "and `docker history` keep. Rotate the exposed credential.",
)
def secret_in_dockerfile(df: Dockerfile, ctx: Any) -> Iterator[Hit]:
    """ENV values and ARG defaults are stored in the image config and RUN lines in its history, so a
    credential written there ships to every registry and host that pulls the image. Detection uses the
    secret scanner's engine (``cnsec data scan``); findings show a redacted preview only."""
    from cnsec.data.scan import scan_text, scan_value

    for ins in df.instructions:
        if ins.cmd in ("ENV", "ARG"):
            for name, val in _assignments(ins.value, ins.cmd):
                hit = scan_value(name, val)
                if hit is not None:
                    yield Hit(f"{ins.cmd} {name}: {hit.title}: {hit.preview}", line=ins.line,
                              location=f"{ins.cmd}:{name}#{hit.fingerprint[:12]}",
                              fix=f"# remove {ins.cmd} {name}; at build time use\n"
                                  f"RUN --mount=type=secret,id={name.lower()} …")
        elif ins.cmd == "RUN":
            for hit in scan_text(ins.value, "Dockerfile"):
                yield Hit(f"RUN: {hit.title}: {hit.preview}", line=ins.line,
                          location=f"RUN#{hit.fingerprint[:12]}")
