from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from typing import Any

from cnsec.assess.checks._values import literal_part
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


#: An OpenPGP key fingerprint or long key id: 40 hex digits (v4, also written in ten groups of four),
#: 64 (v5/v6) or 16 (long key id), with an optional ``0x``.
_FINGERPRINT = re.compile(r"(?<![0-9A-Za-z])(?:0x)?(?:[0-9A-Fa-f]{40}|[0-9A-Fa-f]{64}|[0-9A-Fa-f]{16}"
                          r"|[0-9A-Fa-f]{4}(?: {1,2}[0-9A-Fa-f]{4}){9})(?![0-9A-Za-z])")
#: The Dockerfile verifies downloads with OpenPGP keys: its hex strings are public key fingerprints.
_USES_OPENPGP = re.compile(r"(?i)\bgpgv?\b|--recv-keys?\b|keyserver|\bpgp\b")


_KEY_NAME = re.compile(r"(?i)gpg|pgp|fingerprint|key_?id")


def _openpgp_runs(df: Dockerfile) -> list[str]:
    return [ins.value for ins in df.instructions if ins.cmd == "RUN" and _USES_OPENPGP.search(ins.value)]


def _is_public_key_id(name: str, value: str, openpgp_runs: list[str]) -> bool:
    """The whole value is one or more OpenPGP fingerprints (``GPG_KEYS`` lists several), in a variable
    named for them or handed to gpg by a RUN line (``--recv-keys "$GPG_KEY"``)."""
    if not openpgp_runs or not value.strip() or _FINGERPRINT.sub("", value).strip(" \t'\""):
        return False
    used = re.compile(rf"\$\{{?{re.escape(name)}\b")
    return bool(_KEY_NAME.search(name)) or any(used.search(run) for run in openpgp_runs)


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
    secret scanner's engine (``cnsec data scan``); findings show a redacted preview only.

    Official images verify their downloads with OpenPGP: ``ENV GPG_KEY 7169605F…`` and
    ``key='B97B0AFC…'; gpg --recv-keys "$key"`` are fingerprints of *public* keys, published so that
    anyone can check a signature; they are not reported in a Dockerfile that uses gpg. Of a shell
    expansion ``${VAR:-default}`` only a literal default is judged."""
    from cnsec.data import scan_text, scan_value

    openpgp = _openpgp_runs(df)
    for ins in df.instructions:
        if ins.cmd in ("ENV", "ARG"):
            for name, val in _assignments(ins.value, ins.cmd):
                literal = literal_part(val)
                if literal is None or _is_public_key_id(name, literal, openpgp):
                    continue
                hit = scan_value(name, literal)
                if hit is not None:
                    yield Hit(f"{ins.cmd} {name}: {hit.title}: {hit.preview}", line=ins.line,
                              location=f"{ins.cmd}:{name}#{hit.fingerprint[:12]}",
                              fix=f"# remove {ins.cmd} {name}; at build time use\n"
                                  f"RUN --mount=type=secret,id={name.lower()} …")
        elif ins.cmd == "RUN":
            # a RUN line that runs gpg names public keys by their fingerprints
            text = _FINGERPRINT.sub("${GPG_FINGERPRINT}", ins.value) if ins.value in openpgp else ins.value
            for hit in scan_text(text, "Dockerfile"):
                yield Hit(f"RUN: {hit.title}: {hit.preview}", line=ins.line,
                          location=f"RUN#{hit.fingerprint[:12]}")
