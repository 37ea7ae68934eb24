from __future__ import annotations

from collections.abc import Iterator

from cnsec.assess.checks.base import Hit, check
from cnsec.assess.checks.k8s._images import looks_templated, parse_image
from cnsec.assess.patches import set_patch
from cnsec.k8s.workload import Workload
from cnsec.model.severity import Severity


@check(
    id="CNSEC-K8S-027",
    title="imagePullPolicy is not Always",
    severity=Severity.LOW,
    target="workload",
    threats=("malicious-image",),
    control="CTRL-IMAGE-PINNING",
    remediation="Set imagePullPolicy: Always (or pin the image by digest).",
    equivalents={"checkov": ("CKV_K8S_15",)},
)
def image_pull_policy(w: Workload, ctx: object) -> Iterator[Hit]:
    """With IfNotPresent or Never a node reuses whatever image it cached under that name: a tampered
    image planted on the node, or a private image pulled earlier with another tenant's credentials,
    runs without the registry (and its pull secrets) being asked. When imagePullPolicy is absent we
    apply the Kubernetes default: Always for ``:latest`` or no tag (pass), IfNotPresent otherwise
    (fail). An image pinned by digest passes whatever its policy: the runtime stores images by
    content, so a cached copy under that digest is that image and cannot have been swapped, and a
    pull would bring the same bytes (reuse of a cached private image by another tenant is the
    AlwaysPullImages admission plugin's job, not the pod's). Checkov fails a ``tag@digest`` image with
    the default policy; we do not."""
    for c in w.containers:
        image = c.image
        policy = c.spec.get("imagePullPolicy")
        path = c.at("imagePullPolicy")
        if image.strip() and not looks_templated(image) and parse_image(image).digest:
            continue
        if policy is not None:
            if policy != "Always":
                yield Hit(f"container {c.name!r} has imagePullPolicy {policy!r}", path=path,
                          patch=set_patch(w.res, path, "Always"))
            continue
        if not image.strip() or looks_templated(image):
            continue
        ref = parse_image(image)
        if ref.tag in ("", "latest"):
            continue
        yield Hit(f"container {c.name!r} defaults to imagePullPolicy IfNotPresent for {image!r}",
                  path=path, patch=set_patch(w.res, path, "Always"))
