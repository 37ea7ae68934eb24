from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.k8s._images import looks_templated, parse_image
from cnsec.k8s.workload import Workload
from cnsec.model.severity import Severity


@check(
    id="CNSEC-K8S-025",
    title="Image not pinned to a digest",
    severity=Severity.LOW,
    target="workload",
    threats=("malicious-image",),
    control="CTRL-IMAGE-PINNING",
    remediation="Reference the image by digest (image: repo/name:tag@sha256:<64 hex>) and update it deliberately.",
    equivalents={"checkov": ("CKV_K8S_43",), "kubescape": ("C-0306",)},
)
def image_digest(w: Workload, ctx: object) -> Iterator[Hit]:
    """Tags are mutable: a version tag can be re-pushed by whoever controls the registry or a stolen
    push credential, and the node runs the new content on its next pull. A digest names exactly the
    bytes that were reviewed and scanned. A malformed digest (a registered algorithm such as sha256,
    sha512 or blake3 with the wrong number of hex digits) does not count as pinned. Templated images
    (``${IMAGE}``) are skipped. Kubescape C-0306's per-repository exemption list is its own
    configuration and is not modelled: suppress with a reason instead."""
    for c in w.containers:
        image = c.image
        if not image.strip() or looks_templated(image):
            continue
        ref = parse_image(image)
        if not ref.has_valid_digest:
            why = "a malformed digest" if ref.digest else "no digest"
            yield Hit(f"container {c.name!r} uses image {image!r} with {why}", path=c.at("image"))
