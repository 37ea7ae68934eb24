"""VEX in: OpenVEX and CycloneDX VEX statements applied to vulnerability findings.

A statement names a vulnerability (an id, matched against a finding's advisory id and every alias) and
the products it is about (package URLs). A finding it matches is

* **suppressed**, with the statement as the reason, when the statement says the product is not affected
  (OpenVEX ``not_affected``/``fixed``; CycloneDX ``analysis.state`` ``not_affected``, ``false_positive``,
  ``resolved``, ``resolved_with_pedigree``). Suppressed findings stay in every report format, marked as
  such (JSON ``suppressed``/``suppression_reason``, SARIF ``suppressions``, Markdown's suppressed table,
  JUnit ``skipped``) and out of ``--fail-on`` and the risk model;
* **kept**, with the statement attached (``vex`` attribute), when it says ``affected``/``exploitable`` or
  ``under_investigation``/``in_triage``.

Products: a package purl matches a finding's package by type, namespace and name, and by version when the
purl has one (an epoch ``N:`` is ignored on both sides, as purl writes it as a qualifier). OpenVEX
``subcomponents`` count as products of their own; a product that names a container image (``pkg:oci``,
``pkg:docker``) only matches findings of that image (``cnsec assess --images``). A CycloneDX ``affects``
reference is resolved through the document's components (or a BOM-link ``urn:cdx:…#ref``) to their purl.
A statement whose products cannot be resolved to any purl is reported in the skipped inputs, never
applied by guess. An advisory that fixes several CVEs (a DSA) is suppressed only when statements cover
each of them: "not affected by CVE-2021-34798" says nothing about the three other CVEs of DSA-4982-1.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnsec.errors import InputError
from cnsec.model.finding import Finding, InputProblem
from cnsec.model.source import Source
from cnsec.vulns.kev import cves_of, read_json

MAX_VEX_BYTES = 64 << 20
SUPPRESSING = {"not_affected", "fixed", "false_positive", "resolved", "resolved_with_pedigree"}
KEEPING = {"affected", "under_investigation", "exploitable", "in_triage"}
IMAGE_TYPES = ("oci", "docker")


@dataclass(frozen=True, slots=True)
class Product:
    type: str
    name: str  # namespace/name, lower-case
    version: str | None

    @classmethod
    def parse(cls, text: str) -> Product | None:
        from packageurl import PackageURL

        try:
            p = PackageURL.from_string(text.strip())
        except ValueError:
            return None
        name = f"{p.namespace}/{p.name}" if p.namespace else p.name
        if p.type == "maven":  # cnsec names a Maven package group:artifact, purl group/artifact
            name = name.replace(":", "/")
        kind = p.type.lower()
        if kind in IMAGE_TYPES:  # an image: the repository it names, as a runtime resolves it
            from cnsec.vulns.risk import repository

            where = p.qualifiers.get("repository_url") if isinstance(p.qualifiers, dict) else None
            if kind == "docker":
                name = repository(f"{where}/{name}" if where else name)
            elif where:  # pkg:oci/app?repository_url=ghcr.io/org/app
                name = repository(where)
            # else pkg:oci/app: the last part of the repository only (below)
        return cls(kind, name.lower(), _plain_version(p.version) if p.version else None)


def _plain_version(v: str) -> str:
    """``5:6.0.16-1`` and ``6.0.16-1`` are one version here: purl keeps a dpkg epoch as a qualifier."""
    head, sep, rest = v.partition(":")
    return rest if sep and head.isdigit() else v


@dataclass(frozen=True, slots=True)
class Statement:
    vulns: frozenset[str]
    products: tuple[Product, ...]
    status: str
    justification: str | None
    detail: str | None
    file: str
    format: str  # openvex / cyclonedx

    @property
    def suppresses(self) -> bool:
        return self.status in SUPPRESSING

    def reason(self) -> str:
        parts = [f"VEX ({self.format}, {Path(self.file).name}): {self.status}"]
        if self.justification:
            parts.append(self.justification)
        if self.detail:
            parts.append(" ".join(self.detail.split()))
        return " — ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "justification": self.justification, "detail": self.detail,
                "file": self.file, "format": self.format}


def load(path: Path, skipped: list[InputProblem]) -> list[Statement]:
    """The statements of one OpenVEX or CycloneDX (JSON) document; ones that cannot be applied (an
    unknown status, no product that resolves to a purl) go to ``skipped`` with the reason."""
    doc = read_json(path, MAX_VEX_BYTES)
    if not isinstance(doc, dict):
        raise InputError("not a VEX document (a JSON object is expected)", Source(str(path)))
    if isinstance(doc.get("statements"), list) and "openvex" in str(doc.get("@context", "")).lower():
        raw = list(_openvex(doc, str(path)))
    elif doc.get("bomFormat") == "CycloneDX":
        raw = list(_cyclonedx(doc, str(path)))
    else:
        raise InputError("not an OpenVEX document (no openvex @context and statements) nor CycloneDX "
                         "(no bomFormat)", Source(str(path)))
    out = []
    for n, st, unresolved in raw:
        what = f"statement {n} ({', '.join(sorted(st.vulns)) or 'no vulnerability id'})"
        if st.status not in SUPPRESSING and st.status not in KEEPING:
            skipped.append(InputProblem(str(path), None, f"{what}: unknown status {st.status!r}; not applied"))
        elif not st.vulns:
            skipped.append(InputProblem(str(path), None, f"{what}: names no vulnerability; not applied"))
        elif not st.products:
            names = ", ".join(unresolved) or "none"
            skipped.append(InputProblem(str(path), None, f"{what}: no product resolves to a package URL "
                                                         f"(products: {names}); not applied"))
        else:
            out.append(st)
    return out


def _strs(*values: Any) -> list[str]:
    return [v.strip() for v in values if isinstance(v, str) and v.strip()]


def _openvex(doc: dict[str, Any], file: str) -> Iterator[tuple[int, Statement, list[str]]]:
    for n, st in enumerate(doc["statements"], 1):
        if not isinstance(st, dict):
            continue
        vuln = st.get("vulnerability")
        if isinstance(vuln, dict):  # v0.2.0: {"@id", "name", "aliases"}
            ids = _strs(vuln.get("@id"), vuln.get("name"), *(vuln.get("aliases") or []))
        else:  # v0.0.x: a plain id
            ids = _strs(vuln)
        names: list[str] = []
        for p in st.get("products") or ():
            if isinstance(p, str):  # v0.0.x
                names.append(p)
            elif isinstance(p, dict):
                names += _strs(p.get("@id"), *((p.get("identifiers") or {}).get("purl"),))
                names += [s for c in p.get("subcomponents") or () if isinstance(c, dict)
                          for s in _strs(c.get("@id"), (c.get("identifiers") or {}).get("purl"))]
        products = tuple(dict.fromkeys(p for p in map(Product.parse, names) if p is not None))
        detail = _strs(st.get("impact_statement"), st.get("action_statement"), st.get("status_notes"))
        yield n, Statement(frozenset(ids), products, str(st.get("status", "")), _strs(st.get("justification"))[0]
                           if _strs(st.get("justification")) else None, "; ".join(detail) or None, file,
                           "openvex"), names


def _components(doc: dict[str, Any]) -> dict[str, str]:
    """bom-ref -> purl of every component (nested ones and the metadata component too)."""
    out: dict[str, str] = {}
    stack = list(doc.get("components") or [])
    meta = (doc.get("metadata") or {}).get("component")
    if meta:
        stack.append(meta)
    while stack:
        c = stack.pop()
        if not isinstance(c, dict):
            continue
        if isinstance(c.get("bom-ref"), str) and isinstance(c.get("purl"), str):
            out[c["bom-ref"]] = c["purl"]
        stack.extend(c.get("components") or [])
    return out


def _cyclonedx(doc: dict[str, Any], file: str) -> Iterator[tuple[int, Statement, list[str]]]:
    refs = _components(doc)
    for n, v in enumerate(doc.get("vulnerabilities") or (), 1):
        if not isinstance(v, dict):
            continue
        analysis: dict[str, Any] = v["analysis"] if isinstance(v.get("analysis"), dict) else {}
        ids = _strs(v.get("id"), *[r.get("id") for r in v.get("references") or () if isinstance(r, dict)])
        names = []
        for a in v.get("affects") or ():
            ref = a.get("ref") if isinstance(a, dict) else None
            if not isinstance(ref, str):
                continue
            local = ref.split("#", 1)[1] if ref.startswith("urn:cdx:") and "#" in ref else ref
            names.append(refs.get(local, local))
        products = tuple(dict.fromkeys(p for p in map(Product.parse, names) if p is not None))
        yield n, Statement(frozenset(ids), products, str(analysis.get("state", "")),
                           _strs(analysis.get("justification"))[0] if _strs(analysis.get("justification"))
                           else None, _strs(analysis.get("detail"))[0] if _strs(analysis.get("detail")) else None,
                           file, "cyclonedx"), names


def _package_of(f: Finding) -> Product | None:
    return Product.parse(str(f.attrs.get("purl") or f.asset_id))


def _image_names(f: Finding) -> set[str]:
    from cnsec.vulns.risk import repository

    return {repository(r) for r in f.attrs.get("image_refs") or ()}


def _matches(st: Statement, f: Finding, pkg: Product | None) -> bool:
    ids = {str(f.attrs.get("advisory") or f.check_id), *map(str, f.attrs.get("aliases") or ())}
    if not ids & st.vulns:
        return False
    images = [p for p in st.products if p.type in IMAGE_TYPES]
    packages = [p for p in st.products if p.type not in IMAGE_TYPES]
    if images and not any(p.name in names or (p.type == "oci" and "/" not in p.name and
                                              any(n.rsplit("/", 1)[-1] == p.name for n in names))
                          for names in (_image_names(f),) for p in images):
        return False
    if not packages:
        return bool(images)
    return pkg is not None and any(p.type == pkg.type and p.name == pkg.name and
                                   (p.version is None or p.version == pkg.version) for p in packages)


def apply(findings: Iterable[Finding], statements: list[Statement]) -> dict[str, int]:
    """Apply the statements (the last matching one of each finding decides, as later documents
    amend earlier ones); returns the counts for the report's summary."""
    counts = {"statements": len(statements), "suppressed": 0, "kept": 0}
    if not statements:
        return counts
    by_id: dict[str, list[int]] = {}  # vulnerability id -> its statements: never statements × findings
    for i, st in enumerate(statements):
        for v in st.vulns:
            by_id.setdefault(v, []).append(i)
    used: set[int] = set()
    for f in findings:
        pkg = _package_of(f)
        ids = {str(f.attrs.get("advisory") or f.check_id), *map(str, f.attrs.get("aliases") or ())}
        hits = []
        for i in sorted({i for v in ids for i in by_id.get(v, ())}):
            if _matches(statements[i], f, pkg):
                hits.append(statements[i])
                used.add(i)
        if not hits:
            continue
        hit = hits[-1]
        f.attrs["vex"] = hit.to_dict()
        cves = set(cves_of(f))
        if hit.suppresses and len(cves) > 1:
            # a distribution advisory (DSA-4982-1) fixes several vulnerabilities: it is not affected only
            # when statements say so for every one of them
            said = {c for st in hits if st.suppresses for c in st.vulns & cves}
            if said != cves:
                f.attrs["vex"]["not_covered"] = sorted(cves - said)
                counts["kept"] += 1
                continue
        if hit.suppresses:
            f.suppressed = True
            f.suppression_reason = hit.reason()
            counts["suppressed"] += 1
        else:
            counts["kept"] += 1
    counts["statements_unmatched"] = len(statements) - len(used)
    return counts


def load_all(paths: Iterable[str], errors: list[InputProblem], skipped: list[InputProblem]) -> list[Statement]:
    """Every ``--vex`` file in order; one that does not read is an error (exit 2), the others apply."""
    from cnsec.errors import CnsecError

    out: list[Statement] = []
    for p in paths:
        try:
            out += load(Path(p), skipped)
        except CnsecError as exc:
            src = exc.source or Source(p)
            errors.append(InputProblem(src.file, src.line, exc.message))
    return out
