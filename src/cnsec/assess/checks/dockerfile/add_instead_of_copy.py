from __future__ import annotations

import re
from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.loaders.dockerfile import Dockerfile
from cnsec.model.severity import Severity

_URL = re.compile(r"^(https?|ftp)://|^git@|\.git(#.*)?$", re.IGNORECASE)
_ARCHIVE = re.compile(r"\.(tar|tgz|tar\.gz|tar\.bz2|tbz2?|tar\.xz|txz|gz|bz2|xz|zst)$", re.IGNORECASE)


@check(
    id="CNSEC-DKR-003",
    title="ADD used instead of COPY",
    severity=Severity.LOW,
    target="dockerfile",
    threats=("malicious-image",),
    control="CTRL-DOCKERFILE-HYGIENE",
    remediation=("Use COPY for local files; download remote content with RUN curl/wget and verify its "
                 "checksum (or ADD --checksum=sha256:…), and extract archives explicitly."),
    equivalents={"checkov": ("CKV_DOCKER_4",)},
)
def add_instead_of_copy(df: Dockerfile, ctx: object) -> Iterator[Hit]:
    """ADD fetches URLs without verification and silently unpacks archives, so what lands in the image
    is not what the reader of the Dockerfile expects (zip-slip, tampered downloads).

    A remote ADD with ``--checksum`` is verified by BuildKit and passes (Checkov fails every ADD).
    """
    for n, ins in enumerate(df.of("ADD")):
        argv = ins.exec_form or ins.value.split()
        sources = argv[:-1] if len(argv) > 1 else argv
        remote = [s for s in sources if _URL.search(s)]
        if remote and "checksum" in ins.flags:
            continue
        if remote:
            msg = f"ADD fetches {remote[0]!r} without verifying it"
            fix = "RUN curl -fsSLo /tmp/file <url> && echo '<sha256>  /tmp/file' | sha256sum -c -"
        elif any(_ARCHIVE.search(s) for s in sources):
            msg = "ADD silently unpacks an archive; extract it explicitly"
            fix = "COPY " + " ".join(argv) + "  # then RUN tar -xf … explicitly"
        else:
            msg = "ADD used to copy local files; COPY does only that"
            fix = "COPY " + ins.value.strip()
        yield Hit(msg, line=ins.line, location=f"add[{n}]", fix=fix)
