"""Agreement with osv-detector's labelled lockfiles (corpora/vulns/oracles/osv-detector-locks-e2e.json).

An expected id is coverable when this corpus holds an advisory with that id or alias *for that package's
ecosystem and name* (the oracle's own "in corpus" flag also counts an id that only aliases another
ecosystem's record: GHSA-j7hp-h8jx-5ppr is in the corpus as a RustSec libwebp alias, never for Pillow).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cnsec.vulns.index import Index, build, normalize_name
from cnsec.vulns.inventory import format_for
from cnsec.vulns.match import Matcher
from tests.vulns.conftest import corpus

#: differences explained in docs/vulns.md: the corpus withdrew PYSEC-2021-125 (2024-08-02) after
#: osv-detector recorded it, so reporting it would be wrong
KNOWN_DIFFERENCES = {("1-Pipfile.lock", "ansible", "7.2.0", "PYSEC-2021-125"),
                     ("2-poetry.lock", "ansible", "8.2.0", "PYSEC-2021-125")}


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Index:
    adv = corpus() / "advisories"
    sources = [p for p in sorted(adv.glob("osv-*/*/all.zip")) if p.parent.name not in ("Debian", "Alpine")]
    db = tmp_path_factory.mktemp("vulndb") / "vulns.db"
    assert build(sources, db).errors == []
    return Index(db)


def _packages(fmt: Any, path: Path) -> list[Any]:
    """What a reader gives for ``path``, entries it could not read or had to skip aside."""
    from cnsec.vulns.inventory import PartlyRead

    try:
        return list(fmt.parse(path, path.read_text()))
    except PartlyRead as partial:
        return partial.packages


def _coverable(index: Index, eco: str, name: str, vid: str) -> bool:
    rows = index.conn.execute(
        "SELECT 1 FROM affected a WHERE a.ecosystem = ? AND a.name = ? AND (a.vuln_id = ? OR a.vuln_id IN "
        "(SELECT vuln_id FROM aliases WHERE alias = ?)) LIMIT 1", (eco, normalize_name(eco, name), vid, vid))
    return rows.fetchone() is not None


def agreement(index: Index) -> dict[str, Any]:
    oracle = json.loads((corpus() / "oracles/osv-detector-locks-e2e.json").read_text())
    matcher = Matcher(index)
    agreed: list[tuple[str, str, str, str]] = []
    missed: list[tuple[str, str, str, str]] = []
    for fixture, entry in sorted(oracle.items()):
        fmt = format_for(Path(fixture.split("-", 1)[1]))
        if fmt is None:
            continue
        path = corpus() / entry["input"]
        got: dict[tuple[str, str], set[str]] = {}
        for pkg in _packages(fmt, path):
            version = pkg.version.removeprefix("v") if pkg.ecosystem == "Go" else pkg.version  # as osv-detector
            for m in matcher.match(pkg):
                got.setdefault((pkg.name.lower(), version), set()).update((m.advisory.id, *m.aliases))
        for affected in entry["affected"]:
            key = (affected["name"].lower(), affected["version"])
            for vid in affected["ids"]:
                if not _coverable(index, entry["ecosystem"], affected["name"], vid):
                    continue
                (agreed if vid in got.get(key, ()) else missed).append((fixture, *key, vid))
    return {"agreed": agreed, "missed": missed}


@pytest.mark.corpus
def test_agreement_with_osv_detector_on_coverable_expected_ids_is_at_least_98_percent(index: Index) -> None:
    _check(agreement(index), at_least=150, known=KNOWN_DIFFERENCES)


def _check(result: dict[str, Any], *, at_least: int, known: set[tuple[str, str, str, str]]) -> None:
    """At least 98% agreed, and every difference is one explained above (a new one fails)."""
    agreed, missed = len(result["agreed"]), len(result["missed"])
    assert agreed + missed > at_least
    assert agreed / (agreed + missed) >= 0.98
    assert set(result["missed"]) == known


#: PYSEC-2022-245 (the corpus's record for GHSA-8x94-hmjh-97hq) starts at Django 3.2; the GHSA record
#: api.osv.dev answered with when osv-scanner recorded its cassettes also covered 1.11 and 2.2
KNOWN_QUERY_DIFFERENCES = {("PyPI", "django", "1.11.29", "GHSA-8x94-hmjh-97hq"),
                           ("PyPI", "django", "2.2.24", "GHSA-8x94-hmjh-97hq")}


def query_agreement(index: Index) -> dict[str, Any]:
    """osv-scanner's recorded api.osv.dev queries: (ecosystem, name, version) -> expected ids."""
    from cnsec.vulns.inventory import Package

    matcher = Matcher(index)
    agreed: list[tuple[str, str, str, str]] = []
    missed: list[tuple[str, str, str, str]] = []
    seen: set[tuple[str, str, str]] = set()
    for line in (corpus() / "oracles/osv-scanner-querybatch.jsonl").read_text().splitlines():
        entry = json.loads(line)
        if "package" not in entry:
            continue  # a commit query: GIT ranges are not in this slice
        eco, name, version = entry["package"]["ecosystem"], entry["package"]["name"], entry["version"]
        if (eco, name, version) in seen:
            continue
        seen.add((eco, name, version))
        got = {i for m in matcher.match(Package(eco, name, version, "", None)) for i in (m.advisory.id, *m.aliases)}
        for vid in entry["expected_ids_in_corpus"]:
            if _coverable(index, eco, name, vid):
                (agreed if vid in got else missed).append((eco, name, version, vid))
    return {"agreed": agreed, "missed": missed}


@pytest.mark.corpus
def test_agreement_with_osv_scanners_recorded_queries_is_at_least_98_percent(index: Index) -> None:
    _check(query_agreement(index), at_least=400, known=KNOWN_QUERY_DIFFERENCES)


# --- package agreement: what each lockfile reader finds, against peers' recorded expectations -----------------

_READER_NAMES = {"pnpm": "pnpm-lock.yaml", "uv": "uv.lock", "gradle": "gradle.lockfile", "maven": "pom.xml",
                 "nuget": "packages.lock.json", "yarn": "yarn.lock", "npm": "package-lock.json",
                 "pip": "requirements.txt", "go": "go.mod", "bundler": "Gemfile.lock", "pipenv": "Pipfile.lock",
                 "composer": "composer.lock", "poetry": "poetry.lock", "cargo": "Cargo.lock"}

#: differences from osv-detector's parser tests, each a choice explained in docs/vulns.md
KNOWN_PARSE_DIFFERENCES = {
    # a local `file:`/`link:` package or a workspace member is the project's own code (its name may be any
    # registry package's: matching it would report that package's advisories)
    *{("pnpm/files.yaml", "missed", n, v) for n, v in [
        ("a-local-package", "1.0.0"), ("a-nested-local-package", "1.0.0"), ("my-file-package", "0.0.0"),
        ("one-up", "1.0.0"), ("one-up-with-peer", "1.0.0")]},
    ("npm/files.v1.json", "missed", "other_package", ""), ("npm/files.v2.json", "missed", "etag", "1.8.0"),
    *{("yarn/files.v1.lock", "missed", n, v) for n, v in [
        ("etag", "1.8.0"), ("filedep", "1.2.0"), ("other_package", "0.0.2"), ("sprintf-js", "0.0.0")]},
    ("yarn/files.v2.lock", "missed", "my-package", "0.0.2"),
    ("yarn/exclude-root.v2.lock", "missed", "@ws/ansi-regex", "0.0.0-use.local"),
    ("go/replace-local.mod", "missed", "./fork/net", ""),
    # no version to match: osv-detector's "" (a git dependency: it matches by commit, cnsec does not yet)
    *{("npm/commits.v1.json", "missed", n, "") for n in [
        "@segment/analytics.js-integration-facebook-pixel", "babel-preset-php", "is-number-1", "is-number-2",
        "is-number-3", "is-number-4", "is-number-5", "is-number-6", "raven-js", "slick-carousel"]},
    ("npm/commits.v2.json", "missed", "raven-js", ""),
    # a requirement without an exact pin names no version: osv-detector reports "0.0.0" (which every advisory
    # starting at 0 matches) or a range's lower bound (which pip need not install)
    *{(f, "missed", n, v) for f in ("pip/multiple-packages-mixed.txt", "pip/with-multiple-r-options.txt")
      for n, v in [("flask", "0.0.0"), ("flask-cors", "0.0.0"), ("gevent", "0.0.0"), ("requests", "0.0.0"),
                   ("sklearn", "0.0.0")]},
    *{("pip/file-format-example.txt", "missed", n, v) for n, v in [
        ("beautifulsoup4", "0.0.0"), ("coverage", "0.0.0"), ("green", "0.0.0"), ("keyring", "4.1.1"),
        ("mopidy-dirble", "1.1"), ("pytest", "0.0.0"), ("pytest-cov", "0.0.0"), ("rejected", "0.0.0")]},
    ("pip/one-package-unconstrained.txt", "missed", "flask", "0.0.0"),
    ("pip/with-per-requirement-options.txt", "missed", "barproject", "1.2"),
    # pip joins `bar == 4.5\\` and `.6` into 4.5.6 (it drops every trailing backslash); osv-detector keeps them
    ("pip/line-continuation.txt", "missed", "bar", r"4.5\\\\"),
    ("pip/line-continuation.txt", "extra", "bar", "4.5.6"),
    # an include that is not there is said as skipped (the file's other pins are read), not a failed file
    ("pip/with-bad-r-option.txt", "read", "", ""),
    # a POM property it does not define and a version range are said as skipped, not guessed
    ("maven/interpolation.xml", "missed", "org.mine.too:my.other-package", "0"),
    ("maven/interpolation.xml", "missed", "org.mine:ranged-package", "9.4.35.v20201120"),
    # osv-detector drops the 5 lines that are not entries in silence; cnsec reports each (exit 2)
    ("gradle/with-bad-pkg", "reported", "", ""),
}


def _compared(reader: str, name: str, version: str) -> tuple[str, str]:
    """A package as both tools can be compared: Go versions without their `v` (osv-detector drops it; the
    matcher reads both), PyPI names as the index files them (PEP 503)."""
    if reader == "go":
        return name, version.removeprefix("v")
    if reader in ("pip", "pipenv", "poetry", "uv"):
        return normalize_name("PyPI", name), version
    return name, version


def _read_all(path: Path, name: str) -> tuple[set[tuple[str, str]], bool]:
    """(name, version) pairs a reader finds in ``path`` read as ``name``, and whether it reported the file
    (or a line of it) as broken."""
    from cnsec.errors import InputError
    from cnsec.vulns.inventory import PartlyRead

    fmt = format_for(Path(name))
    assert fmt is not None, name
    try:
        return {(p.name, p.version) for p in fmt.parse(path, path.read_text())}, False
    except PartlyRead as partial:
        return {(p.name, p.version) for p in partial.packages}, bool(partial.problems)
    except InputError:
        return set(), True


def parse_agreement() -> dict[str, Any]:
    """osv-detector's parser tests for every reader both tools have: one item per expected package and one
    per fixture's outcome (broken or not). A package cnsec finds that the test does not expect is a
    difference too (unless the test lists only some: then the count it asserts is an item). A fixture the
    test expects to fail agrees when cnsec reports it (its other lines may still give packages: they are
    not counted)."""
    expected = json.loads((Path(__file__).parent / "data/lockfiles/osv-detector-expected.json").read_text())
    base = corpus() / "inputs/osv-detector/pkg/lockfile/testdata"
    agreed: list[tuple[str, str, str, str]] = []
    differ: list[tuple[str, str, str, str]] = []
    for rel, want in sorted(expected.items()):
        reader = rel.split("/")[0]
        raw, broken = _read_all(base / rel, _READER_NAMES[reader])
        found = {_compared(reader, n, v) for n, v in raw}
        (agreed if broken == want["error"] else differ).append((rel, "reported" if broken else "read", "", ""))
        if want["error"]:
            continue
        packages = {_compared(reader, n, v) for n, v in want["packages"]}
        for name, version in sorted(packages):
            (agreed if (name, version) in found else differ).append((rel, "missed", name, version))
        if want.get("partial"):
            if "count" in want:
                (agreed if len(found) == want["count"] else differ).append((rel, "count", str(len(found)), ""))
            continue
        differ += [(rel, "extra", n, v) for n, v in sorted(found - packages)]
    return {"agreed": agreed, "missed": differ}


@pytest.mark.corpus
def test_the_lockfile_readers_agree_with_osv_detectors_parser_tests_but_for_explained_choices() -> None:
    result = parse_agreement()
    assert len(result["agreed"]) + len(result["missed"]) > 500
    assert set(result["missed"]) == KNOWN_PARSE_DIFFERENCES


def test_osv_scanners_recorded_queries_name_the_packages_of_its_uv_and_nuget_lockfiles() -> None:
    """The packages osv-scanner queried api.osv.dev for when it scanned locks-scalibr/uv.lock and
    packages.lock.json (its cassette): exactly the ones cnsec reads (the uv project itself is neither)."""
    queried: dict[str, set[tuple[str, str]]] = {}
    for line in (corpus() / "oracles/osv-scanner-querybatch.jsonl").read_text().splitlines():
        entry = json.loads(line)
        test = (entry["test"] or "").removeprefix("TestCommand_MoreLockfiles/")
        if test in ("uv.lock", "packages.lock.json") and "package" in entry:
            queried.setdefault(test, set()).add((entry["package"]["name"], entry["version"]))
    base = corpus() / "inputs/osv-scanner/cmd/osv-scanner/scan/source/testdata/locks-scalibr"
    assert sorted(queried) == ["packages.lock.json", "uv.lock"]
    for name, packages in queried.items():
        assert _read_all(base / name, name) == (packages, False), name


# --- Trivy's goldens: its fixture lockfiles against its own test database ----------------------------------------

_TRIVY = "inputs/trivy/integration/testdata"
_TRIVY_ECOSYSTEMS = {"maven": "Maven", "npm": "npm", "pip": "PyPI", "nuget": "NuGet", "go": "Go",
                     "composer": "Packagist", "cargo": "crates.io", "rubygems": "RubyGems"}
#: golden -> why it is left out: a scan option cnsec does not have
_TRIVY_LEFT_OUT = {"gomod-skip.json.golden": "--skip-dirs", "gomod-vex.json.golden": "--vex",
                   "npm-ubuntu-severity.json.golden": "a vendor severity source"}


def _trivy_events(constraint: str) -> list[dict[str, str]]:
    """One trivy-db ``VulnerableVersions`` entry (``>= 2.0.0, <= 2.9.10.3``, ``< 3.0.0``, Maven's
    ``[2.9.0,2.9.10.7)``) as OSV range events."""
    if constraint.startswith("["):
        low, high = constraint[1:-1].split(",")
        return [{"introduced": low.strip() or "0"},
                {"fixed" if constraint.endswith(")") else "last_affected": high.strip()}]
    events = [{"introduced": "0"}]
    for part in (p.strip() for p in constraint.split(",")):
        op, version = part.split(None, 1) if " " in part else (part[:2], part[2:])
        key = {">=": "introduced", "<": "fixed", "<=": "last_affected"}[op]
        if key == "introduced":
            events[0] = {"introduced": version.strip()}
        else:
            events.append({key: version.strip()})
    return events


def trivy_records() -> list[dict[str, Any]]:
    """Trivy's test database for language packages (trivy-db bucket YAML) as OSV records."""
    import yaml

    records = []
    for path in sorted((corpus() / _TRIVY / "fixtures/db").glob("*.yaml")):
        for source in yaml.safe_load(path.read_text()) or []:
            eco = _TRIVY_ECOSYSTEMS.get(str(source.get("bucket", "")).split("::", 1)[0])
            if eco is None:
                continue
            for package in source["pairs"]:
                for vuln in package["pairs"]:
                    ranges = [{"type": "ECOSYSTEM", "events": _trivy_events(c)}
                              for c in vuln["value"].get("VulnerableVersions", [])]
                    records.append({"id": f"{vuln['key']}:{eco}:{package['bucket']}", "aliases": [vuln["key"]],
                                    "modified": "2024-01-01T00:00:00Z", "affected": [
                                        {"package": {"ecosystem": eco, "name": package["bucket"]},
                                         "ranges": ranges}]})
    return records


def _target(root: Path, file: str) -> str:
    """The file Trivy names for a package: the go.mod whose go.sum gave it (a module before Go 1.17)."""
    rel = Path(file).relative_to(root)
    return (rel.with_name("go.mod") if rel.name == "go.sum" else rel).as_posix()


def trivy_agreement(db: Path) -> dict[str, Any]:
    """Each finding a Trivy golden expects for a lockfile type cnsec reads (target, package, version,
    CVE) found by scanning the same fixture folder against the same advisories."""
    from cnsec.model.finding import InputProblem
    from cnsec.vulns.match import read_inventory

    goldens = json.loads((corpus() / "oracles/trivy-goldens.json").read_text())
    matcher = Matcher(Index(db))
    agreed: list[tuple[str, str, str, str]] = []
    missed: list[tuple[str, str, str, str]] = []
    for golden, entry in sorted(goldens.items()):
        artifact = entry["artifact"] or ""
        if golden in _TRIVY_LEFT_OUT or not artifact.startswith("testdata/fixtures/repo/"):
            continue
        root = corpus() / _TRIVY / artifact.removeprefix("testdata/")
        errors: list[InputProblem] = []
        packages = read_inventory([str(root)], errors, {"lockfiles": 0})
        got = {(_target(root, p.file), normalize_name(p.ecosystem, p.name), p.version, i)
               for p in packages for m in matcher.match(p) for i in (m.advisory.id, *m.aliases)}
        readable = {_target(root, p.file) for p in packages}
        for v in entry["vulnerabilities"]:
            if v["target"] not in readable and format_for(Path(v["target"])) is None:
                continue  # a lockfile type cnsec does not read (bun.lock, conan.lock…)
            eco = next(p.ecosystem for p in packages if Path(p.file).name == Path(v["target"]).name)
            key = (v["target"], normalize_name(eco, v["pkg"]), v["installed"], v["id"])
            (agreed if key in got else missed).append((golden, *key[1:]))
    return {"agreed": agreed, "missed": missed}


@pytest.mark.corpus
def test_agreement_with_trivys_goldens_on_its_own_fixtures_and_database_is_complete(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    from tests.vulns.helpers import write_zip

    folder = tmp_path_factory.mktemp("trivy-db")
    db = folder / "vulns.db"
    assert build([write_zip(folder / "osv" / "all.zip", trivy_records()).parent], db).errors == []
    result = trivy_agreement(db)
    assert len(result["agreed"]) >= 20
    assert result["missed"] == []


def test_one_matcher_s_shared_caches_give_what_a_fresh_matcher_per_package_gives(index: Index) -> None:
    """The fast path keeps each ranges text compiled and each (ranges text, version) decided across
    packages; held to a matcher made anew for every package, which shares nothing across packages
    (within one package's advisories it caches as well: a cache-key slip inside one package is
    not what this holds)."""
    oracle = json.loads((corpus() / "oracles/osv-detector-locks-e2e.json").read_text())
    e2e = corpus() / "inputs/osv-detector/testdata/locks-e2e"
    packages = []
    for fixture in sorted(oracle):
        fmt = format_for(Path(fixture.split("-", 1)[1]))
        if fmt is not None and (e2e / fixture).is_file():
            packages += _packages(fmt, e2e / fixture)
    assert len(packages) > 1000
    shared = Matcher(index)

    def ids(matches: list[Any]) -> list[tuple[str, str | None, tuple[str, ...]]]:
        return [(m.advisory.id, m.fixed, m.aliases) for m in matches]

    found = 0
    for pkg in packages + packages[::-1]:  # twice, the second time from warm caches in the other order
        try:
            fast = ids(shared.match(pkg))
        except Exception as exc:  # an unreadable version: the slow path must refuse it the same way
            with pytest.raises(type(exc)):
                Matcher(index).match(pkg)
            continue
        assert fast == ids(Matcher(index).match(pkg)), pkg
        found += len(fast)
    assert found > 100
