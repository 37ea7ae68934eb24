from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.k8s._images import looks_templated, parse_image
from cnsec.k8s.workload import Workload
from cnsec.model.severity import Severity


@check(
    id="CNSEC-K8S-024",
    title="Image tag is latest or missing",
    severity=Severity.MEDIUM,
    target="workload",
    threats=("malicious-image",),
    control="CTRL-IMAGE-PINNING",
    remediation="Reference an explicit version tag (better: an @sha256 digest) instead of :latest or no tag.",
    equivalents={"checkov": ("CKV_K8S_14",)},
)
def image_tag(w: Workload, ctx: object) -> Iterator[Hit]:
    """``:latest`` (or no tag, which means latest) is whatever was pushed last: anyone who can push to
    the repository changes what runs on the next restart, nobody can tell which version runs, and a
    rollback cannot go back. An image with a digest passes (it is immutable). Containers without an
    image (kustomize patches) and templated images (``${IMAGE}``) are skipped: there is nothing to
    judge, where Checkov reports them."""
    for c in w.containers:
        image = c.image
        if not image.strip() or looks_templated(image):
            continue
        ref = parse_image(image)
        if ref.digest:
            continue
        if ref.tag in ("", "latest"):
            what = "no tag (latest)" if not ref.tag else "the latest tag"
            yield Hit(f"container {c.name!r} uses image {image!r} with {what}", path=c.at("image"))
