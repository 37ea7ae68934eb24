"""Image vulnerabilities in the risk model: ``cnsec assess ./deploy --images ./images/``.

Each image in the folder (``docker save`` tarball or OCI layout) is read and matched as ``cnsec vulns``
does; it becomes an **image asset** (``Image/<reference>``) and is joined to the workloads that run it by
image reference: the repository tags of the tarball (``manifest.json`` ``RepoTags``, the index's
``io.containerd.image.name``/``org.opencontainers.image.ref.name`` annotations) against each container's
``image:``, both normalised (``nginx`` = ``docker.io/library/nginx:latest``; a digest in the manifest
matches the image whose manifest has that digest). Every vulnerability is a finding on the image asset
and on every workload asset that runs the image, under the threat ``known-vulnerability``.

Its chance of being exploited (``exploitability``, which the risk score combines as it does a check's
severity — docs/risk.md) starts from the advisory's severity and rises with

* a **fix being published** (the fix shows where the bug is: without one the chance is ×0.8),
* **known exploitation**: listed in the CISA KEV catalog (at least 0.95) and the EPSS probability
  (combined as an independent chance),
* the workload's **privileges** (each of privileged or host namespaces, running as root, host mounts,
  a powerful service-account token takes a quarter of the remaining chance), from the assessment's own
  findings on the workload (suppressed ones too: a suppressed check is still a fact) and the RBAC audit;

the workload's **exposure** (internet-facing through a LoadBalancer/NodePort Service or an Ingress) then
scales the likelihood as for every risk. The plan gets one control per (image, package): ``upgrade X to
Y in image Z`` closing every finding of that package on the image and its workloads, Y the highest fixed
version those advisories need.

Images that run in no workload, and workload images that were not given, are reported as skipped inputs.
"""

from __future__ import annotations

import dataclasses
import json
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnsec.model.asset import Asset, AssetType
from cnsec.model.finding import Finding, InputProblem, finding_id
from cnsec.model.report import RuleInfo
from cnsec.model.source import Source

if TYPE_CHECKING:
    from cnsec.assess import Inventory

THREAT = "known-vulnerability"
CONTROL = "CTRL-PATCH-IMAGES"
NO_FIX = 0.80
KEV_FLOOR = 0.95
PRIVILEGE_STEP = 0.25
#: the assessment's controls whose findings on a workload say it runs with these privileges
PRIVILEGES = {"CTRL-NO-PRIVILEGED": "privileged or host namespaces", "CTRL-NON-ROOT": "runs as root",
              "CTRL-NO-HOST-MOUNTS": "host mounts"}
POWERFUL_SA = "powerful service-account token"


# ------------------------------------------------------------------------------ image references
def normalize(ref: str) -> tuple[str, str | None, str | None]:
    """(repository, tag, digest) as the runtime resolves a reference: ``nginx`` is
    ``docker.io/library/nginx`` with tag ``latest``; a reference with only a digest has no tag."""
    ref = ref.strip()
    name, _, digest = ref.partition("@")
    tag = None
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
    parts = name.split("/")
    if len(parts) == 1 or not ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = ["docker.io", *parts]
    if parts[0] == "index.docker.io":
        parts[0] = "docker.io"
    if parts[0] == "docker.io" and len(parts) == 2:
        parts.insert(1, "library")
    if tag is None and not digest:
        tag = "latest"
    return "/".join(parts).lower(), tag, digest.lower() or None


def repository(ref: str) -> str:
    return normalize(ref)[0]


def display(ref: str) -> str:
    repo, tag, digest = normalize(ref)
    short = repo.removeprefix("docker.io/library/").removeprefix("docker.io/")
    return short + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


def image_refs(path: Path) -> tuple[list[str], str | None]:
    """The references an image was saved under and its manifest digest (OCI), best effort: an image
    without any is still read, and reported as matched to no workload."""
    refs: list[str] = []
    digest = None

    def from_index(index: Any) -> str | None:
        manifests = index.get("manifests") if isinstance(index, dict) else None
        if not isinstance(manifests, list) or not manifests or not isinstance(manifests[0], dict):
            return None
        ann = manifests[0].get("annotations") or {}
        for key in ("io.containerd.image.name", "org.opencontainers.image.ref.name"):
            value = ann.get(key) if isinstance(ann, dict) else None
            if isinstance(value, str) and value and ("/" in value or ":" in value or key.startswith("io.")):
                refs.append(value)
        d = manifests[0].get("digest")
        return d if isinstance(d, str) else None

    try:
        if path.is_dir():
            digest = from_index(json.loads((path / "index.json").read_text("utf-8")))
        else:
            with tarfile.open(path) as tf:
                names: dict[str, tarfile.TarInfo] = {}
                for n, member in enumerate(tf):  # the top-level files come first: never the whole index
                    if n >= 4096 or len(names) == 2:
                        break
                    if member.name.removeprefix("./") in ("manifest.json", "index.json"):
                        names[member.name.removeprefix("./")] = member
                for name in ("manifest.json", "index.json"):
                    found = names.get(name)
                    stream = tf.extractfile(found) if found is not None else None
                    if stream is None:
                        continue
                    doc = json.loads(stream.read(16 << 20))
                    if name == "manifest.json" and isinstance(doc, list) and doc and isinstance(doc[0], dict):
                        refs += [t for t in doc[0].get("RepoTags") or () if isinstance(t, str)]
                    elif name == "index.json":
                        digest = from_index(doc) or digest
    except (OSError, tarfile.TarError, ValueError, UnicodeDecodeError):
        pass  # the image reader says what is wrong with it
    return list(dict.fromkeys(refs)), digest


# ------------------------------------------------------------------------------ the score
def exploitability(f: Finding, privileges: list[str]) -> tuple[float, str]:
    """The chance that this vulnerability is the way in, and how it was reached (docs/risk.md)."""
    from cnsec.assess import EXPLOITABILITY

    e = EXPLOITABILITY[f.severity]
    why = [f"{f.severity.label} {e:.2f}"]
    if not f.attrs.get("fixed_version"):
        e *= NO_FIX
        why.append(f"no fix published ×{NO_FIX:.2f}")
    if f.attrs.get("kev"):
        e = max(e, KEV_FLOOR)
        why.append(f"known exploited (KEV) ≥ {KEV_FLOOR:.2f}")
    epss = f.attrs.get("epss")
    if isinstance(epss, dict):
        e = 1 - (1 - e) * (1 - float(epss["score"]))
        why.append(f"EPSS {float(epss['score']):.3f}")
    for p in privileges:
        e = 1 - (1 - e) * (1 - PRIVILEGE_STEP)
        why.append(p)
    e = round(min(e, 0.999), 3)
    return e, f"{' + '.join(why)} = {e:.3f}"


def workload_privileges(inv: Inventory, findings: list[Finding]) -> dict[str, list[str]]:
    """Per workload asset: the privileges its own findings (suppressed ones too) and the RBAC audit
    (a mounted token of a service account holding a high or critical grant) say it has."""
    from cnsec.iam import audit
    from cnsec.k8s.rbac import RbacModel

    out: dict[str, set[str]] = {}
    for f in findings:
        p = PRIVILEGES.get(f.control_id or "")
        if p:
            out.setdefault(f.asset_id, set()).add(p)
    for grant in audit(RbacModel.from_resources(inv.k8s)):
        if grant.workload is not None and grant.workload.key:
            out.setdefault(grant.workload.key, set()).add(POWERFUL_SA)
    order = [*PRIVILEGES.values(), POWERFUL_SA]
    return {k: [p for p in order if p in v] for k, v in out.items()}


# ------------------------------------------------------------------------------ the join
@dataclass(slots=True)
class Image:
    path: Path
    refs: list[str]
    digest: str | None
    asset: Asset
    findings: list[Finding] = field(default_factory=list)  # per package, as 'cnsec vulns' reports them
    workloads: list[str] = field(default_factory=list)


class ImageJoin:
    """The ``assess_inventory`` hook that adds the images' assets and findings (see the module text).

    Built before the assessment runs, so that a missing index fails at once with its message."""

    def __init__(self, folder: str, db: str | None, *, vex: list[str], kev: str | None, epss: str | None,
                 max_age_days: float | None = None) -> None:
        from cnsec.vulns.cli import DEFAULT_MAX_AGE_DAYS
        from cnsec.vulns.index import Index, default_path

        self.folder = Path(folder)
        self.index = Index(Path(db) if db else default_path())  # InputError saying how to build one
        self.vex, self.kev, self.epss = vex, kev, epss
        self.max_age_days = DEFAULT_MAX_AGE_DAYS if max_age_days is None else max_age_days
        self.stats: dict[str, Any] = {}
        self.rules: dict[str, RuleInfo] = {}

    def __call__(self, inv: Inventory, assets: list[Asset], findings: list[Finding],
                 problems: list[InputProblem]) -> None:
        try:
            self._join(inv, assets, findings, problems)
        finally:
            self.index.close()

    def _read(self, problems: list[InputProblem], skipped: list[InputProblem]) -> list[Image]:
        from cnsec.model.report import Report
        from cnsec.vulns.image import is_image
        from cnsec.vulns.match import index_status, match_packages, read_inventory

        self.stats["index"] = index_status(self.index, self.max_age_days)
        images: list[Image] = []
        used_ids: set[str] = set()
        for path in sorted(self.folder.iterdir()):
            if not is_image(path):
                if path.name.endswith((".tar", ".tar.gz", ".tgz")):  # meant to be one: an input error
                    problems.append(InputProblem(str(path), None, "not a readable image (no manifest.json or "
                                                                  "oci-layout in it: damaged or truncated?); not read"))
                else:
                    skipped.append(InputProblem(str(path), None, "not a container image (docker save tarball "
                                                                 "or OCI layout); not read"))
                continue
            refs, digest = image_refs(path)
            label = display(refs[0]) if refs else path.name
            asset_id = f"Image/{label}"
            if asset_id in used_ids:
                asset_id = f"Image/{label}@{path.name}"
            used_ids.add(asset_id)
            stats = {"lockfiles": 0}
            packages = read_inventory([str(path)], problems, stats)
            found = Report(kind="vulns")
            match_packages(self.index, packages, found)
            problems.extend(found.errors)
            skipped.extend(found.skipped)
            self.rules.update(found.rules)
            asset = Asset(id=asset_id, type=AssetType.IMAGE, kind="ContainerImage", name=label,
                          source=Source(str(path)),
                          attrs={"refs": refs, "digest": digest, "packages": len(packages),
                                 "package_files": stats["lockfiles"]})
            for f in found.findings:
                f.attrs["purl"] = f.asset_id
                f.attrs["image_refs"] = refs
            images.append(Image(path, refs, digest, asset, found.findings))
        return images

    def _join(self, inv: Inventory, assets: list[Asset], findings: list[Finding],
              problems: list[InputProblem]) -> None:
        from cnsec.k8s.workload import WORKLOAD_KINDS
        from cnsec.vulns import kev, vex

        skipped = inv.skipped
        images = self._read(problems, skipped)
        every = [f for img in images for f in img.findings]
        statements = vex.load_all(self.vex, problems, skipped)
        if self.vex:
            self.stats["vex"] = vex.apply(every, statements)
        signals = kev.load(self.kev, self.epss, every, problems)
        if signals is not None:
            self.stats["exploitation"] = {**signals.stats(), "known_exploited": kev.annotate(every, signals)}

        by_ref: dict[tuple[str, str], Image] = {}
        for img in images:
            for r in img.refs:
                repo, tag, digest = normalize(r)
                if tag:
                    by_ref.setdefault((repo, tag), img)
                if digest:
                    by_ref.setdefault((repo, "@" + digest), img)
            if img.digest:
                by_ref.setdefault(("", "@" + img.digest.lower()), img)
        privileges = workload_privileges(inv, findings)
        added: list[Finding] = []
        for img in images:
            added += self._on_asset(img, img.asset, img.asset.id, [], None)
        missing = 0
        for a in list(assets):
            if a.kind not in WORKLOAD_KINDS:
                continue
            for ref in dict.fromkeys(a.attrs.get("images") or ()):
                if not ref:
                    continue
                repo, tag, digest = normalize(ref)
                runs: Image | None = None
                if digest:
                    runs = by_ref.get((repo, "@" + digest)) or by_ref.get(("", "@" + digest))
                if runs is None and tag:
                    runs = by_ref.get((repo, tag))
                if runs is None:
                    missing += 1
                    hint = ""
                    if digest and any(k[0] == repo for k in by_ref):
                        hint = (f" (an image of {repo} was given, but not with this digest: a docker save "
                                "tarball before Docker 25 carries no manifest digest; save it as an OCI layout)")
                    skipped.append(InputProblem(a.source.file, a.source.line,
                                                f"{a.id}: image {ref} is not among --images; its "
                                                f"vulnerabilities are not known{hint}"))
                    continue
                if a.id not in runs.workloads:
                    runs.workloads.append(a.id)
                added += self._on_asset(runs, a, ref, privileges.get(a.id, []), a.source)
        for img in images:
            img.workloads.sort()
            img.asset.attrs["workloads"] = img.workloads
            if not img.workloads:
                names = ", ".join(img.refs) or "no repository tag"
                skipped.append(InputProblem(str(img.path), None, f"image {names} runs in no workload of the "
                                                                 "input (its vulnerabilities are on the image only)"))
        _plan_titles(added)
        assets.extend(img.asset for img in images)
        findings.extend(added)
        self.stats.update({
            "given": len(images), "vulnerabilities": sum(len(img.findings) for img in images),
            "workload_images_not_given": missing,
            "images": [{"asset_id": img.asset.id, "file": str(img.path), "refs": img.refs,
                        "packages": img.asset.attrs["packages"], "vulnerabilities": len(img.findings),
                        "workloads": img.workloads} for img in images],
        })

    def _on_asset(self, img: Image, asset: Asset, where: str, privileges: list[str],
                  source: Source | None) -> list[Finding]:
        """The image's findings as findings on ``asset`` (the image itself, or a workload running it)."""
        out = []
        for f in img.findings:
            e, why = exploitability(f, privileges)
            location = f"{where}|{f.attrs['purl']}|{f.source.file}"
            out.append(dataclasses.replace(
                f, id=finding_id(f.check_id, asset.id, location), asset_id=asset.id,
                source=source or f.source, threat_ids=(THREAT,),
                control_id=CONTROL if f.attrs.get("fixed_version") else None,
                message=f"{f.message} (image {img.asset.name})" if source else f.message,
                attrs={**f.attrs, "image": img.asset.id, "exploitability": e, "exploitability_why": why,
                       **({"privileges": privileges} if privileges else {})}))
        return out


def _plan_titles(findings: list[Finding]) -> None:
    """``upgrade X to Y in image Z``: one plan item per (image, package, installed version), Y the
    highest fixed version that its advisories need (by the ecosystem's own order)."""
    from cnsec.vulns.versions import VersionError, parser_for

    groups: dict[tuple[str, str, str, str], list[Finding]] = {}
    for f in findings:
        if f.control_id == CONTROL:
            key = (str(f.attrs["image"]), str(f.attrs["ecosystem"]), str(f.attrs["package"]),
                   str(f.attrs["installed_version"]))
            groups.setdefault(key, []).append(f)
    for (image, eco, pkg, _), fs in groups.items():
        fixes = sorted({str(f.attrs["fixed_version"]) for f in fs})
        parse: Callable[[str], Any] = parser_for(eco)
        try:
            target = max(fixes, key=parse)
        except VersionError:
            target = fixes[-1]
        title = f"upgrade {pkg} to {target} in image {image.removeprefix('Image/')}"
        for f in fs:
            f.attrs["plan_item"] = title
