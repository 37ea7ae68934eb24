"""Matching: each pinned package against the index's ranges and version lists, into findings.

OSV's evaluation: a version listed in ``versions`` is affected; else, per ``ECOSYSTEM``/``SEMVER``
range, the events sorted by version decide (``introduced`` opens, ``fixed`` closes at that version,
``last_affected`` closes after it). Withdrawn advisories are not reported (counted). One advisory and
its aliases (a GO- id and its GHSA) found for one package is one finding.
"""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import tarfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from cnsec.errors import CnsecError
from cnsec.model.finding import Finding, InputProblem, finding_id
from cnsec.model.report import Report, RuleInfo
from cnsec.model.source import Source
from cnsec.vulns.image import Kept, is_image
from cnsec.vulns.index import Advisory, AffectedEntry, Index
from cnsec.vulns.inventory import MAX_LOCKFILE_BYTES, LockfileFormat, Package, PartlyRead, Unsupported, discover
from cnsec.vulns.severity import to_severity
from cnsec.vulns.versions import Comparable, VersionError, parser_for

_PURL_TYPES = {"PyPI": "pypi", "npm": "npm", "Go": "golang", "crates.io": "cargo", "RubyGems": "gem",
               "Packagist": "composer", "Maven": "maven", "NuGet": "nuget",
               "Debian": "deb/debian", "Ubuntu": "deb/ubuntu", "Alpine": "apk/alpine"}
#: one OSV range event: the parsed version (None for introduced "0"), its kind and its text
Event = tuple[Comparable | None, str, str]
_IMAGE_SPOOL = 16 << 20  # a binary read from an image layer is held in memory up to this, then on disk


@dataclass(frozen=True, slots=True)
class Match:
    """One vulnerability of one package: ``advisory`` speaks for the advisories that alias each other."""

    package: Package
    advisory: Advisory
    fixed: str | None
    aliases: tuple[str, ...]
    severity: Advisory  # the member whose severity is reported (the representative unless it has none)
    severity_via: str | None = None  # an alias's record the index holds, when no member had a severity


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
        if len(members) == 1:  # most advisories stand alone
            rep, fixed = members[0]
            rated = rep
        else:
            members.sort(key=lambda m: (m[0].id.startswith(("GHSA-", "CVE-")), m[0].id))
            rep, fixed = members[0]
            rated = next((m[0] for m in members if m[0].severity), rep)
            fixed = fixed or next((f for _, f in members if f), None)
        ids.discard(rep.id)
        out.append(Match(pkg, rep, fixed, tuple(sorted(ids)), rated))
    return sorted(out, key=lambda m: m.advisory.id)


class Matcher:
    """Matches packages against one index; parsed advisory versions are remembered per ecosystem."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self._parsed: dict[tuple[str, str], Comparable | None] = {}
        self._ranges_compiled: dict[tuple[str, str], list[list[Event]]] = {}
        self._decided: dict[tuple[str, str, str], tuple[bool, str | None]] = {}
        self.unreadable_advisory_versions = 0
        self.withdrawn_skipped = 0
        self._rated_names: dict[str, tuple[float, str]] | None = None  # loaded on the first unrated match
        #: ``Red Hat:enterprise_linux:9`` -> its repositories' ecosystems in the index (``…::appstream``,
        #: ``…::baseos``): an rpmdb does not record which repository a package came from
        self.families: dict[str, list[str]] = {}
        for eco in sorted(index.ecosystems()):
            family, sep, _ = eco.partition("::")
            if sep:
                self.families.setdefault(family, []).append(eco)

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

    def _compiled(self, entry: AffectedEntry, parse: Callable[[str], Comparable]) -> list[list[Event]]:
        """The entry's usable ranges as (parsed version, kind, text) events, once per distinct ranges text
        of an ecosystem; a range with an unreadable bound is left out (the version is counted)."""
        key = (entry.ecosystem, entry.ranges_json)
        out = self._ranges_compiled.get(key)
        if out is None:
            if len(self._ranges_compiled) > 100_000:
                self._ranges_compiled.clear()  # bounded, as the parsed versions are
            out = []
            for rng in entry.ranges:
                events: list[Event] = []
                for ev in rng["events"]:
                    kind, value = next(iter(ev.items()))
                    if kind == "limit":
                        continue
                    parsed = None if value == "0" and kind == "introduced" else self._parse(parse, entry.ecosystem,
                                                                                            value)
                    if parsed is None and not (value == "0" and kind == "introduced"):
                        break  # an unreadable bound makes the whole range unusable (counted)
                    events.append((parsed, kind, value))
                else:
                    out.append(events)
            self._ranges_compiled[key] = out
        return out

    def _affects(self, entry: AffectedEntry, version: str, installed: Comparable,
                 parse: Callable[[str], Comparable]) -> tuple[bool, str | None]:
        """Whether the entry affects ``version``, and the lowest fix above it. The ranges' answer is kept
        per (ranges text, version): the advisories of one package often share their ranges."""
        key = (entry.ecosystem, entry.ranges_json, version)
        decided = self._decided.get(key)
        if decided is None:
            if len(self._decided) > 200_000:
                self._decided.clear()
            hit = False
            fixes: list[tuple[Comparable, str]] = []
            for events in self._compiled(entry, parse):
                if _inside(events, installed):
                    hit = True
                    fixes.extend((p, v) for p, k, v in events if k == "fixed" and p is not None and installed < p)
            fixed = min(fixes, key=lambda f: _Key(f[0]))[1] if fixes else None
            decided = self._decided[key] = (hit, fixed)
        return decided[0] or entry.listed, decided[1]

    def match(self, pkg: Package) -> list[Match]:
        """Raises VersionError when the installed version cannot be read by its ecosystem's rules."""
        entries = [e for eco in self.families.get(pkg.ecosystem, [pkg.ecosystem])
                   for e in self.index.affected(eco, pkg.name, pkg.version)]
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
        return [self._rated(m) for m in _group(hits, pkg)]

    def _rated(self, m: Match) -> Match:
        """A match none of whose advisories is rated takes the severity of an alias record the index
        holds (GO-2024-2687's GHSA-4v7x-pqxf-cx7m, filed for net/http); without one it stays unknown."""
        if m.severity.severity is not None:
            return m
        if self._rated_names is None:
            self._rated_names = self.index.rated_names()
        best = min((self._rated_names[i] for i in (m.advisory.id, *m.aliases) if i in self._rated_names),
                   key=lambda r: (-r[0], r[1]), default=None)
        alias = self.index.advisory(best[1]) if best is not None else None
        return m if alias is None else dataclasses.replace(m, severity=alias, severity_via=alias.id)


def _inside(events: list[Event], installed: Comparable) -> bool:
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
    if pkg.purl is not None:
        return pkg.purl
    if pkg.ecosystem == "Maven" and ":" in pkg.name:  # the purl spec: pkg:maven/GROUP/ARTIFACT@VERSION
        group, _, artifact = pkg.name.partition(":")
        return f"pkg:maven/{group}/{artifact}@{pkg.version}"
    base, _, release = pkg.ecosystem.partition(":")
    kind = _PURL_TYPES.get(base, base.lower())
    # the distro qualifier as Trivy and Syft write it (debian-11, ubuntu-22.04, alpine-3.18)
    distro = (f"?distro={base.lower()}-{release.split(':')[0].lstrip('v')}"
              if release and base in ("Debian", "Ubuntu", "Alpine") else "")
    # OSV's Maven name is group:artifact; a purl puts the group in the namespace (pkg:maven/group/artifact)
    name = pkg.name.replace(":", "/", 1) if base == "Maven" else pkg.name
    return f"pkg:{kind}/{name}@{pkg.version}{distro}"


def finding_for(m: Match, asset: str | None = None, fid: str | None = None) -> Finding:
    """``asset`` and ``fid``: the package's purl and the finding's id when the caller has them already."""
    pkg, adv, rated = m.package, m.advisory, m.severity
    asset = asset or purl(pkg)
    aliases = ", ".join(m.aliases)
    fix = f"; fixed in {m.fixed}" if m.fixed else "; no fixed version published"
    if rated.severity is None:  # never invented: reported as medium, and said to be unknown
        fix += "; severity unknown (neither the advisory nor an alias the index holds rates it)"
    return Finding(
        id=fid or finding_id(adv.id, asset, pkg.file),
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
               **({"severity_from": m.severity_via} if m.severity_via else {}),
               **({"layer": pkg.layer} if pkg.layer else {})},
    )


def read_inventory(paths: Iterable[str], errors: list[InputProblem], stats: dict[str, Any],
                   skipped: list[InputProblem] | None = None, skip_dirs: Iterable[str] = ()) -> list[Package]:
    """Every package under ``paths``; unreadable input goes to ``errors``; entries a format read but
    could not give a version to match (``PartlyRead.skipped``), and package databases in a format not
    read (rpm's Berkeley DB), go to ``skipped`` (to ``errors`` when none is given: never dropped);
    folders in ``skip_dirs`` are not walked."""
    skipped = errors if skipped is None else skipped
    skip = frozenset(Path(d).absolute() for d in skip_dirs)

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
        for path, fmt in discover(root, unreadable, skip):
            try:
                found = _parse_file(path, fmt)
                if found or fmt.magic is None:  # an executable that is no Go program is not a source
                    stats["lockfiles"] += 1
                packages.extend(found)
            except Unsupported as exc:
                stats["lockfiles"] += 1
                skipped.append(InputProblem(str(path), None, str(exc)))
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
    if st.st_size > fmt.max_bytes:
        raise InputError(f"larger than {fmt.max_bytes >> 20} MiB; refused", Source(str(path)))
    if fmt.read is not None:
        with path.open("rb") as fh:
            return fmt.read(path, fh)
    return fmt.parse(path, path.read_text(encoding="utf-8"))


def _reduce(name: str, member: tarfile.TarInfo, stream: IO[bytes]) -> bytes | None:
    """What an image keeps of a Go binary or a jar as its layer streams by: the packages read from it
    (spooled to a temporary file beyond 16 MiB, never held whole) and its problems, as JSON; ``None``
    for every other file (left to the ordinary path)."""
    import shutil
    import tempfile
    from pathlib import PurePosixPath

    from cnsec.vulns.inventory import format_by_content, format_for

    fmt = format_for(PurePosixPath(name))
    head = b""
    if fmt is None or not fmt.self_contained:
        if fmt is not None or not member.mode & 0o111 or member.size < 64:
            return None
        head = stream.read(16)
        fmt = format_by_content(head)
        if fmt is None or fmt.read is None or not fmt.self_contained:
            return None
    assert fmt.read is not None
    found: list[Package] = []
    problems: list[tuple[int | None, str]] = []
    if member.size > fmt.max_bytes:
        problems.append((None, f"larger than {fmt.max_bytes >> 20} MiB; not read"))
    else:
        with tempfile.SpooledTemporaryFile(max_size=_IMAGE_SPOOL, prefix="cnsec-layer-") as spool:
            spool.write(head)
            shutil.copyfileobj(stream, spool)
            spool.seek(0)
            try:
                found = fmt.read(Path(name), spool)
            except PartlyRead as partial:
                found, problems = partial.packages, partial.problems
            except CnsecError as exc:
                problems.append((exc.source.line if exc.source else None, exc.message))
            except Unsupported as exc:
                problems.append((None, str(exc)))
    if not found and not problems and fmt.magic is not None:
        return None  # an executable that is no Go program
    return json.dumps({"packages": [[p.ecosystem, p.name, p.version, p.file[len(name):], p.line, p.purl]
                                    for p in found], "problems": problems}).encode()


def _reduced_packages(k: Kept, shown: str, errors: list[InputProblem]) -> list[Package]:
    data = json.loads(k.data)
    errors.extend(InputProblem(shown, line, message) for line, message in data["problems"])
    return [Package(eco, name, version, shown + suffix, line, k.layer, purl)
            for eco, name, version, suffix, line, purl in data["packages"]]


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
        kept = read_image(image, wanted, MAX_LOCKFILE_BYTES, problems, _reduce)
    except CnsecError as exc:
        errors.append(InputProblem(str(image), None, exc.message))
        return []
    errors.extend(InputProblem(str(image), None, p) for p in problems)
    out: list[Package] = []
    with tempfile.TemporaryDirectory(prefix="cnsec-image-") as tmp:
        root = Path(tmp)
        for name, k in kept.items():  # names are normalised (no '..', relative): they stay below tmp
            if not k.reduced:
                (root / name).parent.mkdir(parents=True, exist_ok=True)
                (root / name).write_bytes(k.data)
        for name, k in sorted(kept.items()):
            shown = f"{image}:/{name}"
            if k.reduced:
                stats["lockfiles"] += 1
                out += _reduced_packages(k, shown, errors)
                continue
            fmt = format_for(root / name)
            if fmt is None:
                continue
            stats["lockfiles"] += 1
            path = root / name

            def keys(data: bytes, fmt: LockfileFormat = fmt, path: Path = path,
                     older: Path = root / ".cnsec-older" / name) -> set[tuple[str, str]]:
                try:
                    found = _parse_bytes(fmt, path, older, data)
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
            except Unsupported as exc:
                skipped.append(InputProblem(shown, None, str(exc)))
                continue
            except CnsecError as exc:
                errors.append(InputProblem(shown, exc.source.line if exc.source else None, exc.message))
                continue
            except UnicodeDecodeError as exc:
                errors.append(InputProblem(shown, None, f"not UTF-8 text (byte {exc.start})"))
                continue
            out += [dataclasses.replace(p, file=shown, layer=layers.get((p.name, p.version), k.layer))
                    for p in found]
    return out


def _parse_bytes(fmt: LockfileFormat, path: Path, older: Path, data: bytes) -> list[Package]:
    """An older layer's copy of the database at ``path``: a binary one (the rpmdb) is written to
    ``older`` (the same path below a folder of its own, so no os-release of anyone else is read) and
    read from there."""
    if fmt.read is None:
        return fmt.parse(path, data.decode("utf-8", "replace"))
    older.parent.mkdir(parents=True, exist_ok=True)
    older.write_bytes(data)
    try:
        with older.open("rb") as fh:
            return fmt.read(older, fh)
    finally:
        older.unlink()


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
    seen: set[str] = set()
    for pkg in packages:
        if pkg.ecosystem.startswith(UNSUPPORTED) or (pkg.ecosystem not in known and
                                                     pkg.ecosystem not in matcher.families):
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
            asset = purl(m.package)
            fid = finding_id(m.advisory.id, asset, m.package.file)
            if fid in seen:  # redis-server and redis-tools: both the source package redis, one finding
                continue
            seen.add(fid)
            f = finding_for(m, asset, fid)
            report.findings.append(f)
            report.rules.setdefault(f.check_id, RuleInfo(f.check_id, f.title, f.severity,
                                                          description=f.message.split(" is affected by ")[0]))
    report.stats["not_matched"] = dict(sorted(not_matched.items()))
    # skipped inputs are shown by every format (table, Markdown, SARIF notes, JSON) and on stderr
    for (file, label), n in sorted(skipped_in.items()):
        why = ("no advisory ecosystem can be told for them (a release without OSV advisories, an unknown "
               "release, or a jar without Maven coordinates)" if label.startswith("pkg:")
               else "the index has no advisories for that ecosystem")
        report.skipped.append(InputProblem(file, None, f"{n} {label} package(s) not matched: {why}"))
    report.stats["advisory_versions_unreadable"] = matcher.unreadable_advisory_versions
    report.stats["withdrawn_skipped"] = matcher.withdrawn_skipped


def scan(paths: list[str], db: Path, *, max_age_days: float, packages_out: list[Package] | None = None,
         skip_dirs: Iterable[str] = ()) -> Report:
    """Read the packages under ``paths`` and match them; ``packages_out`` receives every package read
    (for ``--sbom-out``); folders in ``skip_dirs`` are not walked."""

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
        packages = read_inventory(paths, report.errors, report.stats, report.skipped, skip_dirs)
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
