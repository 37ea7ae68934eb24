from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.dockerfile._shell import run_commands
from cnsec.assess.loaders.dockerfile import Dockerfile
from cnsec.model.severity import Severity

#: package manager → (index refresh sub-commands, commands that use the index)
_MANAGERS = {
    "apt-get": ({"update"}, {"install", "upgrade", "dist-upgrade", "full-upgrade", "build-dep", "source"}),
    "apt": ({"update"}, {"install", "upgrade", "full-upgrade", "dist-upgrade"}),
    "apk": ({"update"}, {"add", "upgrade", "fix"}),
    "zypper": ({"refresh", "ref"}, {"install", "in", "update", "up", "dist-upgrade", "dup"}),
    "yum": ({"makecache"}, {"install", "update", "upgrade"}),
    "dnf": ({"makecache"}, {"install", "update", "upgrade"}),
}


def _sub(words: list[str]) -> str:
    for w in words[1:]:
        if not w.startswith("-"):
            return w
    return ""


@check(
    id="CNSEC-DKR-007",
    title="Package index update alone in its RUN",
    severity=Severity.LOW,
    target="dockerfile",
    threats=("malicious-image",),
    control="CTRL-DOCKERFILE-HYGIENE",
    remediation=("Refresh the index and install in the same RUN: RUN apt-get update && apt-get install -y "
                 "--no-install-recommends pkg=version && rm -rf /var/lib/apt/lists/*"),
    equivalents={"checkov": ("CKV_DOCKER_5",)},
)
def update_without_install(df: Dockerfile, ctx: object) -> Iterator[Hit]:
    """A lone ``apt-get update`` layer is cached: later installs use a stale index and miss security
    fixes, or fail in ways that differ from build to build.

    We judge each RUN by its commands (an update must be followed by an install/upgrade in the same
    RUN); Checkov counts the words "update" and "install" over the whole file.
    """
    for n, ins in enumerate(df.of("RUN")):
        pending: str | None = None
        for cmd in run_commands(ins):
            words = cmd.words
            prog = cmd.program
            if prog not in _MANAGERS:
                continue
            refresh, use = _MANAGERS[prog]
            sub = _sub(words)
            if sub in refresh:
                pending = f"{prog} {sub}"
            elif sub in use or (prog == "apk" and "--update" in words):
                pending = None
        if pending:
            yield Hit(f"`{pending}` is not followed by an install in the same RUN", line=ins.line,
                      location=f"run[{n}]",
                      fix="RUN apt-get update && apt-get install -y --no-install-recommends <pkg> "
                          "&& rm -rf /var/lib/apt/lists/*")
