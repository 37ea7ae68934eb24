from __future__ import annotations

import re
from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.loaders.dockerfile import Dockerfile
from cnsec.model.severity import Severity

#: File names that hold credentials (the base name, or the path's end for the .aws/.ssh/.docker ones).
_SECRET_FILE = re.compile(
    r"(^|/)(id_rsa|id_dsa|id_ecdsa|id_ed25519|\.env|\.env\.[a-z0-9_.-]+|\.npmrc|\.pypirc|\.netrc|"
    r"\.git-credentials|\.htpasswd|credentials\.json|service-account[a-z0-9_.-]*\.json|"
    r"\.aws/credentials|\.docker/config\.json|\.kube/config|kubeconfig|[^/]*\.(pem|key|p12|pfx|jks|keystore))$",
    re.IGNORECASE)
_SAFE_SUFFIX = (".pub", ".example", ".sample", ".template", ".dist")


@check(
    id="CNSEC-DKR-012",
    title="Credential file copied into the image",
    severity=Severity.HIGH,
    target="dockerfile",
    threats=("secret-access",),
    control="CTRL-SECRETS-MANAGEMENT",
    remediation=("Never bake credentials into a layer: use BuildKit secrets (RUN --mount=type=secret,"
                 "id=npmrc,target=/root/.npmrc …) at build time and mounted Secrets at run time; add the "
                 "files to .dockerignore."),
)
def credential_file_copied(df: Dockerfile, ctx: object) -> Iterator[Hit]:
    """Files copied into any layer stay in the image even if deleted later: everyone who can pull it
    (registries, caches, mirrors) gets the private keys, .env files or registry tokens.

    Deleting the file in a later RUN does not help; a multi-stage build does only for files copied
    into a build stage, which is why every stage is checked (the cache and build host keep them too).
    """
    for n, ins in enumerate(df.of("COPY", "ADD")):
        if "from" in ins.flags:
            continue  # copied from another stage: reported where it entered
        argv = ins.exec_form or ins.value.split()
        sources = argv[:-1] if len(argv) > 1 else []
        for src in sources:
            path = src.strip("\"'").rstrip("/")
            if path.lower().endswith(_SAFE_SUFFIX) or "://" in path:
                continue
            if _SECRET_FILE.search(path):
                yield Hit(f"{ins.cmd} puts {path!r} into an image layer", line=ins.line,
                          location=f"copy[{n}]/{path}",
                          fix=("RUN --mount=type=secret,id=cred,target=/run/secrets/cred …"
                               f"  # instead of {ins.cmd} {path}"))
                break
