from __future__ import annotations

import re
from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.loaders.dockerfile import Dockerfile
from cnsec.model.severity import Severity

_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}?")


def _global_args(df: Dockerfile) -> dict[str, str]:
    """``ARG NAME=default`` before the first FROM: the values FROM lines can use."""
    out: dict[str, str] = {}
    for ins in df.instructions:
        if ins.cmd == "FROM":
            break
        if ins.cmd == "ARG":
            for part in ins.value.split():
                name, eq, default = part.partition("=")
                if eq:
                    out[name] = default.strip("\"'")
    return out


def _expand(text: str, args: dict[str, str]) -> str:
    return _VAR.sub(lambda m: args.get(m.group(1)) or (m.group(2) or m.group(0)), text)


def _tag(image: str) -> tuple[str | None, bool]:
    """(tag, has digest) of an image reference; the registry port is not a tag."""
    name, at, _digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = last.partition(":")[2] if ":" in last else None
    return tag, bool(at)


@check(
    id="CNSEC-DKR-002",
    title="Base image not pinned (latest or no tag)",
    severity=Severity.MEDIUM,
    target="dockerfile",
    threats=("malicious-image",),
    control="CTRL-IMAGE-PINNING",
    remediation=("Pin every base image to an explicit version, ideally with its digest: "
                 "FROM python:3.12-slim@sha256:<digest>."),
    equivalents={"checkov": ("CKV_DOCKER_7",)},
)
def base_image_unpinned(df: Dockerfile, ctx: object) -> Iterator[Hit]:
    """An untagged or ``:latest`` base image changes under you: each build may pull different (or
    tampered) code, and a build is not reproducible nor reviewable.

    ``scratch`` and references to earlier build stages are fine. ``ARG`` defaults declared before the
    first FROM are substituted; a reference that is still a bare variable cannot be judged and passes.
    """
    args = _global_args(df)
    stages: set[str] = set()
    for n, ins in enumerate(df.of("FROM")):
        words = ins.value.split()
        if not words:
            continue
        raw = words[0]
        alias = words[2].lower() if len(words) >= 3 and words[1].lower() == "as" else ""
        image = _expand(raw, args)
        low = image.lower()
        if low == "scratch" or low in stages or "$" in image.split(":", 1)[0].rsplit("/", 1)[-1]:
            if alias:
                stages.add(alias)
            continue
        if alias:
            stages.add(alias)
        tag, digest = _tag(image)
        if digest:
            continue
        if tag is None or tag.lower() == "latest":
            why = "has no tag (means :latest)" if tag is None else "uses the mutable :latest tag"
            base = image.split("@")[0]
            name = base.rsplit(":", 1)[0] if tag is not None else base
            yield Hit(f"base image {raw!r} {why}", line=ins.line, location=f"from[{n}]",
                      fix=f"FROM {name}:<version>@sha256:<digest>" + (f" AS {words[2]}" if alias else ""))
