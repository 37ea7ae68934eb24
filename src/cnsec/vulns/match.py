"""Matching: each pinned package against the index's ranges and version lists, into findings.

OSV's evaluation: a version listed in ``versions`` is affected; else, per ``ECOSYSTEM``/``SEMVER``
range, the events sorted by version decide (``introduced`` opens, ``fixed`` closes at that version,
``last_affected`` closes after it). Withdrawn advisories are not reported (counted). One advisory and
its aliases (a GO- id and its GHSA) found for one package is one finding.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cnsec.errors import CnsecError
from cnsec.model.finding import Finding, InputProblem, finding_id
from cnsec.model.report import Report, RuleInfo
from cnsec.model.source import Source
from cnsec.vulns.image import is_image
from cnsec.vulns.index import Advisory, AffectedEntry, Index
from cnsec.vulns.inventory import MAX_LOCKFILE_BYTES, LockfileFormat, Package, PartlyRead, discover
from cnsec.vulns.severity import to_severity
from cnsec.vulns.versions import Comparable, VersionError, parser_for

_PURL_TYPES = {"PyPI": "pypi", "npm": "npm", "Go": "golang", "crates.io": "cargo", "RubyGems": "gem",
               "Packagist": "composer", "Maven": "maven", "NuGet": "nuget",
               "Debian": "deb/debian", "Ubuntu": "deb/ubuntu", "Alpine": "apk/alpine"}


@dataclass(frozen=True, slots=True)
class Match:
    """One vulnerability of one package: ``advisory`` speaks for the advisories that alias each other."""

    package: Package
    advisory: Advisory
    fixed: str | None
    aliases: tuple[str, ...]
    severity: Advisory  # the member whose severity is reported (the representative unless it has none)


def _group(hits: list[tuple[Advisory, str | None]], pkg: Package) -> list[Match]:
    """Advisories sharing an id or alias (GO-2020-0001 and GHSA-6vm3-..., both naming one CVE) are one
    finding, reported under the ecosystem's own id (a GHSA or CVE id only when nothing else names it)."""
    owner: dict[str, int] = {}  # id or alias -> its group (a package with 400 advisories: no quadratic scan)
    groups: dict[int, tuple[set[str], list[tuple[Advisory, str | None]]]] = {}
    for n, (adv, fixed) in enumerate(hits):
        ids = {adv.id, *adv.aliases}
        members = [(adv, fixed)]
        for g in {owner[i] for i in ids if i in owner}:
            old_ids, old_members = groups.pop(g)
            ids |= old_ids
            members += old_members
        groups[n] = (ids, members)
        for i in ids:
            owner[i] = n
    out = []
    for ids, members in groups.values():
        members.sort(key=lambda m: (m[0].id.startswith(("GHSA-", "CVE-")), m[0].id))
        rep, fixed = members[0]
        rated = next((m[0] for m in members if m[0].severity), rep)
        fixed = fixed or next((f for _, f in members if f), None)
        out.append(Match(pkg, rep, fixed, tuple(sorted(ids - {rep.id})), rated))
    return sorted(out, key=lambda m: m.advisory.id)


class Matcher:
    """Matches packages against one index; parsed advisory versions are remembered per ecosystem."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self._parsed: dict[tuple[str, str], Comparable | None] = {}
        self.unreadable_advisory_versions = 0
        self.withdrawn_skipped = 0

    def _parse(self, parse: Callable[[str], Comparable], eco: str, version: str) -> Comparable | None:
        key = (eco, version)
        if key not in self._parsed:
            if len(self._parsed) > 200_000:
                self._parsed.clear()  # bounded: a long scan forgets, it does not grow without end
            try:
                self._parsed[key] = parse(version)
            except VersionError:
                self.unreadable_advisory_versions += 1
                self._parsed[key] = None
        return self._parsed[key]

    def _affects(self, entry: AffectedEntry, version: str, installed: Comparable,
                 parse: Callable[[str], Comparable]) -> tuple[bool, str | None]:
        hit = entry.listed
        fixes: list[tuple[Comparable, str]] = []
        for rng in entry.ranges:
            events = []
            for ev in rng["events"]:
                kind, value = next(iter(ev.items()))
                if kind == "limit":
                    continue
                parsed = None if value == "0" and kind == "introduced" else self._parse(parse, entry.ecosystem, value)
                if parsed is None and not (value == "0" and kind == "introduced"):
                    break  # an unreadable bound makes the whole range unusable (counted)
                events.append((parsed, kind, value))
            else:
                if _inside(events, installed):
                    hit = True
                    fixes.extend((p, v) for p, k, v in events if k == "fixed" and p is not None and installed < p)
        fixed = min(fixes, key=lambda f: _Key(f[0]))[1] if fixes else None
        return hit, fixed

    def match(self, pkg: Package) -> list[Match]:
        """Raises VersionError when the installed version cannot be read by its ecosystem's rules."""
        entries = self.index.affected(pkg.ecosystem, pkg.name, pkg.version)
        if not entries:
            return []
        parse = parser_for(pkg.ecosystem)
        installed = parse(pkg.version)
        hits: list[tuple[Advisory, str | None]] = []
        for entry in entries:
            hit, fixed = self._affects(entry, pkg.version, installed, parse)
            if not hit:
                continue
            adv = self.index.advisory(entry.vuln_id)
            if adv.withdrawn:
                self.withdrawn_skipped += 1
                continue
            hits.append((adv, fixed))
        return _group(hits, pkg)


def _inside(events: list[tuple[Comparable | None, str, str]], installed: Comparable) -> bool:
    """Inside when some ``introduced`` at or below the installed version is not closed by a ``fixed``
    between them (inclusive of the installed version) or a ``last_affected`` below it. The same answer
    as walking the sorted events, without sorting (``None`` is introduced-0)."""
    closers = [(p, k) for p, k, _ in events if k != "introduced" and p is not None]
    for start, kind, _ in events:
        if kind != "introduced" or (start is not None and installed < start):
            continue
        if not any((start is None or not p < start) and
                   ((k == "fixed" and not installed < p) or (k == "last_affected" and p < installed))
                   for p, k in closers):
            return True
    return False


class _Key:
    __slots__ = ("v",)

    def __init__(self, v: Comparable) -> None:
        self.v = v

    def __lt__(self, other: _Key) -> bool:
        return bool(self.v < other.v)


def purl(pkg: Package) -> str:
    base, _, release = pkg.ecosystem.partition(":")
    kind = _PURL_TYPES.get(base, base.lower())
    # the distro qualifier as Trivy and Syft write it (debian-11, ubuntu-22.04, alpine-3.18)
    distro = (f"?distro={base.lower()}-{release.split(':')[0].lstrip('v')}"
              if release and base in ("Debian", "Ubuntu", "Alpine") else "")
    # OSV's Maven name is group:artifact; a purl puts the group in the namespace (pkg:maven/group/artifact)
    name = pkg.name.replace(":", "/", 1) if base == "Maven" else pkg.name
    return f"pkg:{kind}/{name}@{pkg.version}{distro}"


def finding_for(m: Match) -> Finding:
    pkg, adv, rated = m.package, m.advisory, m.severity
    asset = purl(pkg)
    aliases = ", ".join(m.aliases)
    fix = f"; fixed in {m.fixed}" if m.fixed else "; no fixed version published"
    return Finding(
        id=finding_id(adv.id, asset, pkg.file),
        check_id=adv.id,
        title=adv.summary or f"{adv.id} in {pkg.name}",
        severity=to_severity(rated.severity),
        asset_id=asset,
        source=Source(pkg.file, pkg.line),
        message=f"{pkg.name} {pkg.version} is affected by {adv.id}" + (f" ({aliases})" if aliases else "") + fix,
        remediation=f"upgrade {pkg.name} to {m.fixed} or later" if m.fixed else
        f"no fixed version of {pkg.name} is published: replace it or accept the risk",
        location=f"{pkg.ecosystem}:{pkg.name}@{pkg.version}",
        attrs={"ecosystem": pkg.ecosystem, "package": pkg.name, "installed_version": pkg.version,
               "advisory": adv.id, "aliases": list(m.aliases), "fixed_version": m.fixed,
               "cvss_score": rated.score, "cvss_vector": rated.vector, "severity_source": rated.severity_source,
               **({"layer": pkg.layer} if pkg.layer else {})},
    )


def read_inventory(paths: Iterable[str], errors: list[InputProblem], stats: dict[str, Any],
                   skipped: list[InputProblem] | None = None) -> list[Package]:
    """Every package under ``paths``; unreadable input goes to ``errors``, entries a format read but
    could not give a version to match (``PartlyRead.skipped``) to ``skipped`` (or ``errors`` if None)."""
    skipped = errors if skipped is None else skipped

    def unreadable(exc: OSError) -> None:
        errors.append(InputProblem(str(exc.filename), None, f"cannot read folder: {exc.strerror or exc}; skipped"))

    packages: list[Package] = []
    for raw in paths:
        root = Path(raw)
        if not root.exists():
            errors.append(InputProblem(raw, None, "not found"))
            continue
        if is_image(root):
            packages.extend(_image_packages(root, errors, stats, skipped))
            continue
        for path, fmt in discover(root, unreadable):
            stats["lockfiles"] += 1
            try:
                packages.extend(_parse_file(path, fmt))
            except PartlyRead as partial:  # one bad line costs that line: the others are matched
                packages.extend(partial.packages)
                errors.extend(InputProblem(str(path), line, message) for line, message in partial.problems)
                skipped.extend(InputProblem(str(path), line, message) for line, message in partial.skipped)
            except CnsecError as exc:
                src = exc.source or Source(str(path))
                errors.append(InputProblem(src.file, src.line, exc.message))
            except UnicodeDecodeError as exc:
                errors.append(InputProblem(str(path), None, f"not UTF-8 text (byte {exc.start})"))
            except OSError as exc:
                errors.append(InputProblem(str(path), None, f"cannot read: {exc.strerror}"))
    # one file read twice (a requirements file that another includes, and the folder walk found too)
    # gives the same packages, file and line: one each
    return list(dict.fromkeys(packages))


def _parse_file(path: Path, fmt: LockfileFormat) -> list[Package]:
    from cnsec.errors import InputError

    st = path.stat()
    if not stat.S_ISREG(st.st_mode):  # a FIFO would block the read, a device never end it
        raise InputError("not a regular file; refused", Source(str(path)))
    if st.st_size > MAX_LOCKFILE_BYTES:
        raise InputError(f"larger than {MAX_LOCKFILE_BYTES >> 20} MiB; refused", Source(str(path)))
    return fmt.parse(path, path.read_text(encoding="utf-8"))


def _image_packages(image: Path, errors: list[InputProblem], stats: dict[str, Any],
                    skipped: list[InputProblem]) -> list[Package]:
    """The packages of a container image: its layers applied in memory (see :mod:`cnsec.vulns.image`),
    the kept files parsed by the same formats as on disk, each package named by its file in the image
    (``image.tar:/var/lib/dpkg/status``) and the layer that brought it."""
    import dataclasses
    import tempfile
    from pathlib import PurePosixPath

    from cnsec.vulns.image import OS_RELEASE, package_layers, read_image
    from cnsec.vulns.inventory import format_for

    def wanted(name: str) -> bool:
        return name in OS_RELEASE or format_for(PurePosixPath(name)) is not None

    problems: list[str] = []
    try:
        kept = read_image(image, wanted, MAX_LOCKFILE_BYTES, problems)
    except CnsecError as exc:
        errors.append(InputProblem(str(image), None, exc.message))
        return []
    errors.extend(InputProblem(str(image), None, p) for p in problems)
    out: list[Package] = []
    with tempfile.TemporaryDirectory(prefix="cnsec-image-") as tmp:
        root = Path(tmp)
        for name, k in kept.items():  # names are normalised (no '..', relative): they stay below tmp
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(k.data)
        for name, k in sorted(kept.items()):
            fmt = format_for(root / name)
            if fmt is None:
                continue
            stats["lockfiles"] += 1
            shown = f"{image}:/{name}"
            path = root / name

            def keys(data: bytes, fmt: LockfileFormat = fmt, path: Path = path) -> set[tuple[str, str]]:
                try:
                    found = fmt.parse(path, data.decode("utf-8", "replace"))
                except PartlyRead as partial:
                    found = partial.packages
                except CnsecError:
                    found = []  # an older layer's copy that does not read: it brought nothing we can name
                return {(p.name, p.version) for p in found}

            try:
                try:
                    found = _parse_file(path, fmt)
                except PartlyRead as partial:
                    found = partial.packages
                    errors.extend(InputProblem(shown, line, message) for line, message in partial.problems)
                    skipped.extend(InputProblem(shown, line, message) for line, message in partial.skipped)
                layers = package_layers(k, keys)
            except CnsecError as exc:
                errors.append(InputProblem(shown, exc.source.line if exc.source else None, exc.message))
                continue
            except UnicodeDecodeError as exc:
                errors.append(InputProblem(shown, None, f"not UTF-8 text (byte {exc.start})"))
                continue
            out += [dataclasses.replace(p, file=shown, layer=layers.get((p.name, p.version), k.layer))
                    for p in found]
    return out


def index_status(index: Index, max_age_days: float) -> dict[str, Any]:
    age = (datetime.now(UTC) - index.built_at()).total_seconds() / 86400
    return {"path": str(index.path), "built_at": index.meta["built_at"], "age_days": round(age, 2),
            "max_age_days": max_age_days, "stale": age > max_age_days,
            "sources": json.loads(index.meta.get("sources", "[]"))}  # a list, not JSON text inside JSON


def match_packages(index: Index, packages: list[Package], report: Report) -> None:
    """Match every package; those of an ecosystem the index has no advisory for (or an SBOM component of
    a type not matched yet) are counted in ``not_matched`` by ecosystem, never dropped silently."""
    from cnsec.vulns.inventory._purl import UNSUPPORTED

    matcher = Matcher(index)
    known = index.ecosystems()
    not_matched: dict[str, int] = {}
    skipped_in: dict[tuple[str, str], int] = {}  # (file, ecosystem) -> packages not matched
    for pkg in packages:
        if pkg.ecosystem.startswith(UNSUPPORTED) or pkg.ecosystem not in known:
            label = ("pkg:" + pkg.ecosystem[len(UNSUPPORTED):] if pkg.ecosystem.startswith(UNSUPPORTED)
                     else pkg.ecosystem)
            not_matched[label] = not_matched.get(label, 0) + 1
            skipped_in[(pkg.file, label)] = skipped_in.get((pkg.file, label), 0) + 1
            continue
        try:
            matches = matcher.match(pkg)
        except VersionError as exc:
            report.errors.append(InputProblem(pkg.file, pkg.line, f"{pkg.name}: {exc}"))
            continue
        for m in matches:
            f = finding_for(m)
            report.findings.append(f)
            report.rules.setdefault(f.check_id, RuleInfo(f.check_id, f.title, f.severity,
                                                          description=f.message.split(" is affected by ")[0]))
    report.stats["not_matched"] = dict(sorted(not_matched.items()))
    # skipped inputs are shown by every format (table, Markdown, SARIF notes, JSON) and on stderr
    for (file, label), n in sorted(skipped_in.items()):
        report.skipped.append(InputProblem(file, None, f"{n} {label} package(s) not matched: the index has no "
                                                       "advisories for that ecosystem"))
    report.stats["advisory_versions_unreadable"] = matcher.unreadable_advisory_versions
    report.stats["withdrawn_skipped"] = matcher.withdrawn_skipped


def scan(paths: list[str], db: Path, *, max_age_days: float, packages_out: list[Package] | None = None) -> Report:
    """Read the packages under ``paths`` and match them; ``packages_out`` receives every package read
    (for ``--sbom-out``)."""

    index = Index(db)
    try:
        report = Report(kind="vulns", target=", ".join(paths))
        report.stats.update({"lockfiles": 0, "packages": 0})
        status = index_status(index, max_age_days)
        report.stats["index"] = status
        if status["stale"]:
            from cnsec.report.console import note

            note(f"warning: the vulnerability index is {status['age_days']:g} days old (built "
                 f"{status['built_at']}; --max-db-age {max_age_days:g}): rebuild it with 'cnsec vulndb build'")
        packages = read_inventory(paths, report.errors, report.stats, report.skipped)
        report.stats["packages"] = len(packages)
        if packages_out is not None:
            packages_out.extend(packages)
        match_packages(index, packages, report)
        if report.stats["lockfiles"] == 0 and os.environ.get("CNSEC_QUIET") is None:
            from cnsec.report.console import note

            note("no supported lockfile found")
    finally:
        index.close()
    return report
