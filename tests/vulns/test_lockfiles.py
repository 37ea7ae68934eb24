"""pnpm-lock.yaml, uv.lock, gradle.lockfile, pom.xml and packages.lock.json: real files (tests/vulns/data/
lockfiles, see its SOURCES.md) and the edge cases of each format."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from cnsec.errors import InputError
from cnsec.vulns.inventory import Package, PartlyRead, format_for

DATA = Path(__file__).parent / "data" / "lockfiles"


def _read(path: Path, text: str | None = None) -> tuple[list[Package], PartlyRead | None]:
    fmt = format_for(path)
    assert fmt is not None, path
    try:
        return fmt.parse(path, path.read_text() if text is None else text), None
    except PartlyRead as partial:
        return partial.packages, partial


def _rows(path: Path, text: str | None = None) -> list[tuple[str, str, int | None]]:
    return [(p.name, p.version, p.line) for p in _read(path, text)[0]]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _error(tmp_path: Path, name: str, text: str) -> InputError:
    with pytest.raises(InputError) as exc:
        _read(_write(tmp_path, name, text))
    return exc.value


# --- pnpm-lock.yaml ---------------------------------------------------------------------------------------

def test_a_real_pnpm_v9_lockfile_gives_packages_and_snapshots_once_each_without_peer_suffixes() -> None:
    rows = _rows(DATA / "pnpm-v9" / "pnpm-lock.yaml")
    assert len(rows) == 15 and len(set(rows)) == 15
    assert rows[0] == ("@babel/code-frame", "7.28.6", 50)  # '@babel/code-frame@7.28.6': a scoped v9 key
    # two versions of one package are two packages
    assert [r for r in rows if r[0] == "@esbuild/aix-ppc64"] == [("@esbuild/aix-ppc64", "0.25.12", 79),
                                                                  ("@esbuild/aix-ppc64", "0.27.2", 85)]
    # only in `snapshots`, with nested peers: '@eslint-community/eslint-utils@4.9.1(eslint@9.39.2(jiti@2.6.1))'
    assert ("@eslint-community/eslint-utils", "4.9.1", 141) in rows
    assert ("@rollup/plugin-alias", "5.1.1", 146) in rows  # '@rollup/plugin-alias@5.1.1(rollup@4.55.1)'


def test_a_real_pnpm_v6_lockfile_reads_slash_name_at_version_keys_with_peers_in_parentheses() -> None:
    rows = _rows(DATA / "pnpm-v6" / "pnpm-lock.yaml")
    assert len(rows) == 15
    assert rows[0] == ("@aashutoshrathi/word-wrap", "1.2.6", 47)
    assert ("@babel/helper-module-transforms", "7.23.3", 144) in rows  # ...@7.23.3(@babel/core@7.23.9)
    assert ("@rollup/plugin-commonjs", "25.0.7", 181) in rows


@pytest.mark.parametrize(("folder", "peer_row"), [
    ("pnpm-v54", ("@babel/helper-compilation-targets", "7.21.4", 80)),  # .../7.21.4_@babel+core@7.21.4
    ("pnpm-v53", ("@nuxtjs/eslint-config-typescript", "9.0.0", 128)),  # .../9.0.0_eslint@8.14.0+typescript@4.6.3
])
def test_a_real_pnpm_v5_lockfile_reads_slash_name_slash_version_keys_and_drops_the_peer_suffix(
        folder: str, peer_row: tuple[str, str, int]) -> None:
    rows = _rows(DATA / folder / "pnpm-lock.yaml")
    assert len(rows) == 14 and peer_row in rows
    assert rows[0][0] == "@ampproject/remapping" and all("_" not in v for _, v, _ in rows)


def test_pnpm_keys_of_every_lockfile_version_name_one_package() -> None:
    from cnsec.vulns.inventory.pnpm import split_key

    assert split_key("/foo/1.0.0") == ("foo", "1.0.0")
    assert split_key("/@foo/bar/1.0.0_react@18.2.0") == ("@foo/bar", "1.0.0")
    assert split_key("registry.npmjs.org/@foo/bar/1.1.0") == ("@foo/bar", "1.1.0")  # another registry
    assert split_key("/foo@1.0.0(bar@2.0.0)(@types/x@1.0.0)") == ("foo", "1.0.0")
    assert split_key("'@scope/name@2.0.0(peer@1.0.0)'") == ("@scope/name", "2.0.0")
    assert split_key("is-number@https://codeload.github.com/jonschlinkert/is-number/tar.gz/98e8ff1") == (
        "is-number", "https://codeload.github.com/jonschlinkert/is-number/tar.gz/98e8ff1")  # needs `version`
    assert split_key("file:../local") == ("", "")
    assert split_key("link:../other") == ("", "")
    assert split_key("nonsense") is None


def test_pnpm_local_packages_are_skipped_and_git_packages_use_their_own_version_field(tmp_path: Path) -> None:
    text = ("lockfileVersion: '9.0'\npackages:\n  file:../a:\n    resolution: {directory: ../a, type: directory}\n"
            "    name: a\n    version: 1.0.0\n  is-number@https://codeload.github.com/x/is-number/tar.gz/98e8ff1:\n"
            "    resolution: {tarball: https://codeload.github.com/x/is-number/tar.gz/98e8ff1}\n"
            "    version: 7.0.0\n  no-version@https://example.com/x.tgz:\n    resolution: {tarball: x}\n")
    assert _rows(_write(tmp_path, "pnpm-lock.yaml", text)) == [("is-number", "7.0.0", 7)]


def test_a_pnpm_key_that_names_no_package_costs_its_line_not_the_file(tmp_path: Path) -> None:
    text = "lockfileVersion: 5.4\npackages:\n  /acorn/8.7.0:\n    dev: false\n  invalidpath:\n    dev: true\n"
    packages, partial = _read(_write(tmp_path, "pnpm-lock.yaml", text))
    assert [(p.name, p.line) for p in packages] == [("acorn", 3)]
    assert partial is not None and partial.problems == [(5, "not a pnpm package key: 'invalidpath'")]


def test_a_key_of_another_lockfile_version_is_reported_not_read_as_if_it_fitted(tmp_path: Path) -> None:
    # osv-detector's invalid-package-path.yaml: `axios@1.2.5` (9.0's shape) among 5.4 keys
    v5 = "lockfileVersion: 5.4\npackages:\n  /stream/0.0.2:\n    dev: false\n  axios@1.2.5:\n    dev: false\n"
    packages, partial = _read(_write(tmp_path, "pnpm-lock.yaml", v5))
    assert [(p.name, p.version) for p in packages] == [("stream", "0.0.2")]
    assert partial is not None and partial.problems == [(5, "not a pnpm package key: 'axios@1.2.5'")]
    v9 = "lockfileVersion: '9.0'\npackages:\n  /stream/0.0.2:\n    resolution: {}\n  axios@1.2.5:\n    resolution: {}\n"
    packages, partial = _read(_write(tmp_path, "pnpm-lock.yaml", v9))
    assert [(p.name, p.version) for p in packages] == [("axios", "1.2.5")]
    assert partial is not None and [line for line, _ in partial.problems] == [3]


def test_a_pnpm_lock_that_is_not_yaml_names_its_line(tmp_path: Path) -> None:
    err = _error(tmp_path, "pnpm-lock.yaml", "lockfileVersion: '9.0'\npackages:\n  a@1.0.0: {\n")
    assert err.source is not None and err.source.line == 4 and "invalid YAML" in err.message


def test_a_pnpm_lock_yaml_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ["lockfileVersion: '9.0'", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    start = time.monotonic()
    err = _error(tmp_path, "pnpm-lock.yaml", "\n".join(lines) + "\npackages: *a8\n")
    assert time.monotonic() - start < 5 and "alias" in err.message.lower()


# --- uv.lock ----------------------------------------------------------------------------------------------

def test_a_real_uv_lock_skips_the_project_and_its_editable_workspace_members() -> None:
    rows = _rows(DATA / "uv-beet" / "uv.lock")
    names = [n for n, _, _ in rows]
    assert rows[0] == ("annotated-types", "0.7.0", 15)  # the line of its name, as for poetry.lock
    assert ("certifi", "2025.11.12", 102) in rows
    assert len(rows) == 8 and not {"beet", "bolt", "lectern", "mecha"} & set(names)  # source = { editable }


def test_uv_git_packages_are_read_and_virtual_ones_are_not(tmp_path: Path) -> None:
    text = ('version = 1\n\n[[package]]\nname = "app"\nversion = "0.1.0"\nsource = { virtual = "." }\n\n'
            '[[package]]\nname = "ruff"\nversion = "0.8.1"\n'
            'source = { git = "https://github.com/astral-sh/ruff?rev=0.8.1#0.8.1" }\n\n'
            '[[package]]\nname = "broken"\nsource = { registry = "https://pypi.org/simple" }\n')
    packages, partial = _read(_write(tmp_path, "uv.lock", text))
    assert [(p.name, p.version, p.line) for p in packages] == [("ruff", "0.8.1", 9)]
    assert partial is not None and partial.problems == [(13, "a [[package]] without a name and version")]


def test_a_uv_lock_that_is_not_toml_names_its_line(tmp_path: Path) -> None:
    err = _error(tmp_path, "uv.lock", 'version = 1\n[[package]]\nname = "x"\nversion = \n')
    assert err.source is not None and err.source.line == 4


# --- gradle.lockfile --------------------------------------------------------------------------------------

def test_a_real_gradle_lockfile_gives_every_module_with_its_line_and_skips_empty() -> None:
    path = DATA / "gradle-datadog" / "gradle.lockfile"
    packages, partial = _read(path)
    assert partial is None and len(packages) == 68  # 72 lines: 3 comments and one `empty=`
    assert all(p.ecosystem == "Maven" for p in packages)
    rows = [(p.name, p.version, p.line) for p in packages]
    assert rows[0] == ("ch.qos.logback:logback-classic", "1.4.14", 4)
    assert ("org.apache.tomcat.embed:tomcat-embed-core", "10.1.20", 27) in rows


def test_a_bad_gradle_lock_line_costs_that_line(tmp_path: Path) -> None:
    text = "# comment\norg.a:b:1.0=compileClasspath\n>>>\nempty=\norg.c:d:2.0=runtimeClasspath\n"
    packages, partial = _read(_write(tmp_path, "gradle.lockfile", text))
    assert [(p.name, p.line) for p in packages] == [("org.a:b", 2), ("org.c:d", 5)]
    assert partial is not None and [line for line, _ in partial.problems] == [3]


def test_gradle_lockfiles_are_found_by_their_names_and_the_gradle_6_folder() -> None:
    for name in ("app/gradle.lockfile", "buildscript-gradle.lockfile", "gradle/dependency-locks/compile.lockfile"):
        fmt = format_for(Path(name))
        assert fmt is not None and fmt.id == "gradle", name
    assert format_for(Path("some/other.lockfile")) is None


# --- pom.xml ----------------------------------------------------------------------------------------------

def test_a_real_pom_resolves_properties_and_managed_versions_and_reports_inherited_ones_as_skipped() -> None:
    packages, partial = _read(DATA / "maven-webgoat" / "pom.xml")
    rows = {(p.name, p.version): p.line for p in packages}
    assert rows[("com.thoughtworks.xstream:xstream", "1.4.5")] == 275  # <version>${xstream.version}</version>
    assert rows[("io.jsonwebtoken:jjwt", "0.9.1")] == 287
    assert rows[("org.jruby:jruby", "10.1.1.0")] == 172  # only in dependencyManagement
    assert rows[("commons-io:commons-io", "2.22.0")] == 304  # no <version>: the managed one
    assert len(packages) == 26
    # spring-boot-starter-parent manages the rest: each one is said, with its line, never dropped
    assert partial is not None and partial.problems == [] and len(partial.skipped) == 23
    assert (215, "com.fasterxml.jackson.core:jackson-databind: version set by a parent POM or BOM that is not "
                 "beside this file (not read): not matched") in partial.skipped


_POM = """<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <parent><groupId>org.acme</groupId><artifactId>parent</artifactId><version>3.1.0</version></parent>
  <artifactId>app</artifactId>
  <properties>
    <lib.version>${base.version}.7</lib.version>
    <base.version>2.14</base.version>
    <a>${b}</a><b>${a}</b>
  </properties>
  <dependencies>
    <dependency><groupId>${project.groupId}</groupId><artifactId>core</artifactId>
      <version>${project.version}</version></dependency>
    <dependency><groupId>org.x</groupId><artifactId>chain</artifactId><version>${lib.version}</version></dependency>
    <dependency><groupId>org.x</groupId><artifactId>hard</artifactId><version>[1.2.3]</version></dependency>
    <dependency><groupId>org.x</groupId><artifactId>range</artifactId><version>[1.0,2.0)</version></dependency>
    <dependency><groupId>org.x</groupId><artifactId>cycle</artifactId><version>${a}</version></dependency>
    <dependency><groupId>org.x</groupId><artifactId>missing</artifactId><version>${nope}</version></dependency>
  </dependencies>
  <profiles><profile><dependencies>
    <dependency><groupId>org.x</groupId><artifactId>in-profile</artifactId><version>4.0</version></dependency>
  </dependencies></profile></profiles>
</project>
"""


def test_pom_properties_chain_parent_coordinates_hard_pins_ranges_and_cycles(tmp_path: Path) -> None:
    packages, partial = _read(_write(tmp_path, "pom.xml", _POM))
    assert [(p.name, p.version, p.line) for p in packages] == [
        ("org.acme:core", "3.1.0", 11), ("org.x:chain", "2.14.7", 13), ("org.x:hard", "1.2.3", 14),
        ("org.x:in-profile", "4.0", 20)]
    assert partial is not None and [(line, msg.split(":", 2)[1]) for line, msg in partial.skipped] == [
        (15, "range"), (16, "cycle"), (17, "missing")]
    assert "is a range, not one version" in partial.skipped[0][1]
    assert "${nope}" in partial.skipped[2][1]


@pytest.mark.parametrize("doctype", [
    '<!DOCTYPE project [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',  # XXE
    '<!DOCTYPE project [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>',  # laughs
])
def test_a_pom_with_a_dtd_or_entities_is_refused_before_anything_is_expanded(tmp_path: Path, doctype: str) -> None:
    text = (f'<?xml version="1.0"?>\n{doctype}\n<project><dependencies><dependency><groupId>g</groupId>'
            "<artifactId>&xxe;&d;</artifactId><version>1</version></dependency></dependencies></project>\n")
    err = _error(tmp_path, "pom.xml", text)
    assert err.message.startswith("refused: DTDForbidden") and err.source is not None and err.source.line == 2


def test_a_pom_that_is_not_xml_or_not_a_project_names_its_line(tmp_path: Path) -> None:
    err = _error(tmp_path, "pom.xml", "<project>\n  <dependencies>\n  </oops>\n</project>\n")
    assert err.source is not None and err.source.line == 3 and "not valid XML" in err.message
    assert "not a Maven POM" in _error(tmp_path, "pom.xml", "<settings/>\n").message


# --- packages.lock.json -----------------------------------------------------------------------------------

def test_a_real_nuget_lock_gives_its_packages_and_skips_project_references() -> None:
    rows = _rows(DATA / "nuget-simpletweaks" / "packages.lock.json")
    assert rows == [("DalamudPackager", "14.0.1", 5), ("DotNet.ReproducibleBuilds", "1.2.39", 11),
                    ("SixLabors.ImageSharp", "3.1.12", 17)]  # "kamitoolkit": {"type": "Project"} is not one


def test_a_nuget_v2_lock_reads_every_framework_and_central_pins_once_per_version(tmp_path: Path) -> None:
    data = {"version": 2, "dependencies": {
        "net6.0": {"Newtonsoft.Json": {"type": "Direct", "requested": "[12.0.1, )", "resolved": "12.0.1"},
                   "Pinned": {"type": "CentralTransitive", "requested": "[3.0.0, )", "resolved": "3.0.0"}},
        "net8.0": {"Newtonsoft.Json": {"type": "Direct", "requested": "[13.0.1, )", "resolved": "13.0.1"},
                   "Pinned": {"type": "CentralTransitive", "requested": "[3.0.0, )", "resolved": "3.0.0"},
                   "Broken": {"type": "Transitive"}}}}
    packages, partial = _read(_write(tmp_path, "packages.lock.json", json.dumps(data, indent=2)))
    assert [(p.name, p.version, p.line) for p in packages] == [
        ("Newtonsoft.Json", "12.0.1", 5), ("Pinned", "3.0.0", 10), ("Newtonsoft.Json", "13.0.1", 17)]
    assert partial is not None and partial.problems == [(27, "Broken (net8.0) has no resolved version")]


def test_a_nuget_lock_of_an_unknown_version_is_refused_by_name(tmp_path: Path) -> None:
    err = _error(tmp_path, "packages.lock.json", '{"version": 3, "dependencies": {}}')
    assert "version 3 is not supported" in err.message


# --- through `cnsec vulns` --------------------------------------------------------------------------------

def test_a_scan_reports_each_new_format_a_broken_pnpm_lock_by_line_and_pom_skips_in_the_report(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cnsec.cli import main
    from tests.vulns.helpers import build_index, record

    db = build_index(tmp_path, [
        record("GHSA-g-1", "Maven", "org.a:b", [{"introduced": "0"}, {"fixed": "1.1"}]),
        record("GHSA-p-1", "Maven", "org.x:chain", [{"introduced": "0"}, {"fixed": "3.0"}]),
        record("GHSA-u-1", "PyPI", "emoji", [{"introduced": "0"}, {"fixed": "2.15"}]),
        record("GHSA-n-1", "NuGet", "newtonsoft.json", [{"introduced": "0"}, {"fixed": "13.0.1"}]),
        record("GHSA-j-1", "npm", "lodash", [{"introduced": "0"}, {"fixed": "4.17.21"}])])
    proj = tmp_path / "proj"
    for sub, name, text in [
            ("g", "gradle.lockfile", "org.a:b:1.0=compileClasspath\n"),
            ("m", "pom.xml", _POM),
            ("u", "uv.lock", 'version = 1\n[[package]]\nname = "emoji"\nversion = "2.14.0"\n'),
            ("n", "packages.lock.json", '{"version": 1, "dependencies": {"net8.0": {"Newtonsoft.Json": '
                                        '{"type": "Direct", "resolved": "12.0.3"}}}}'),
            ("p", "pnpm-lock.yaml", "lockfileVersion: '9.0'\npackages:\n  lodash@4.17.20:\n    resolution: {}\n"),
            ("bad", "pnpm-lock.yaml", "lockfileVersion: '9.0'\npackages:\n  - [unclosed\n")]:
        (proj / sub).mkdir(parents=True)
        (proj / sub / name).write_text(text)
    code = main(["vulns", str(proj), "--db", str(db), "-f", "json", "--fail-on", "none"])
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert code == 2 and f"{proj / 'bad' / 'pnpm-lock.yaml'}:" in err
    assert sorted(f["advisory"] for f in report["findings"]) == [
        "GHSA-g-1", "GHSA-j-1", "GHSA-n-1", "GHSA-p-1", "GHSA-u-1"]
    skipped = [s for s in report["skipped"] if s["file"].endswith("pom.xml")]
    assert [s["line"] for s in skipped] == [15, 16, 17]


# --- go.mod before Go 1.17: the indirect dependencies are in go.sum ----------------------------------------

def test_a_go_1_15_module_reads_its_go_sum_for_the_indirect_modules_at_the_built_version(tmp_path: Path) -> None:
    # the shape of Trivy's fixtures/repo/gomod/submod2, whose golden expects docker/distribution from go.sum
    (tmp_path / "go.mod").write_text("module x\n\ngo 1.15\n\nrequire github.com/davecgh/go-spew v1.1.0\n"
                                     "replace example.com/old => example.com/new v1.0.1\n")
    (tmp_path / "go.sum").write_text(
        "github.com/davecgh/go-spew v1.1.0 h1:aaa=\n"
        "github.com/docker/distribution v0.0.0-20190905152932-14b96e55d84c/go.mod h1:bbb=\n"
        "github.com/docker/distribution v2.7.1+incompatible h1:ccc=\n"
        "github.com/docker/distribution v2.7.1+incompatible/go.mod h1:ddd=\n"
        "github.com/only/gomod v9.0.0/go.mod h1:eee=\n"
        "example.com/old v1.0.0 h1:fff=\n")
    assert sorted(_rows(tmp_path / "go.mod")) == [
        ("example.com/new", "v1.0.1", 6), ("github.com/davecgh/go-spew", "v1.1.0", 5),
        ("github.com/docker/distribution", "v2.7.1+incompatible", 3)]
    packages, _ = _read(tmp_path / "go.mod")
    assert {Path(p.file).name for p in packages if p.name != "github.com/davecgh/go-spew"} == {"go.sum"}


def test_a_go_1_16_module_without_its_go_sum_says_its_indirect_modules_are_unknown(tmp_path: Path) -> None:
    packages, partial = _read(_write(tmp_path, "go.mod", "module x\n\ngo 1.16\n\nrequire a.example/b v1.0.0\n"))
    assert [p.name for p in packages] == ["a.example/b"]
    assert partial is not None and partial.problems == [] and [line for line, _ in partial.skipped] == [3]
    newer = tmp_path / "new"
    newer.mkdir()
    assert _read(_write(newer, "go.mod", "module x\n\ngo 1.21\n\nrequire a.example/b v1.0.0\n"))[1] is None


def test_a_maven_package_in_the_sbom_out_names_its_group_as_the_purl_namespace_and_reads_back(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cnsec.cli import main
    from tests.vulns.helpers import build_index, record

    db = build_index(tmp_path, [record("GHSA-g-1", "Maven", "org.a:b", [{"introduced": "0"}, {"fixed": "1.1"}])])
    lock = _write(tmp_path, "gradle.lockfile", "org.a:b:1.0=compileClasspath\n")
    sbom = tmp_path / "out.cdx.json"
    assert main(["vulns", str(lock), "--db", str(db), "-f", "json", "--fail-on", "none", "--sbom-out", str(sbom)]) == 0
    capsys.readouterr()
    components = json.loads(sbom.read_text())["components"]
    assert [c["purl"] for c in components] == ["pkg:maven/org.a/b@1.0"]  # not pkg:maven/org.a:b@1.0
    assert _rows(sbom) == [("org.a:b", "1.0", 12)]


@pytest.mark.corpus
def test_spdx_packages_without_a_purl_are_said_not_dropped() -> None:
    from tests.vulns.conftest import corpus

    # spdx/spdx-examples example8: a Maven project's SBOM whose six packages carry no purl
    path = corpus() / "inputs/spdx-examples/software/example8/spdx2.3/examplemaven-0.0.1.spdx.json"
    packages, partial = _read(path)
    assert packages == [] and partial is not None and partial.problems == []
    assert partial.skipped == [(None, "6 SPDX package(s) without a package URL (purl), so without an ecosystem "
                                      "to be matched in: JUnit 3.8.1, Apache Log4j SLF4J Binding, SLF4J API "
                                      "Module, Apache Log4j API, Apache Log4j Core and 1 more")]


@pytest.mark.corpus
def test_an_sbom_named_on_the_command_line_is_told_by_its_content_when_its_name_says_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cnsec.cli import main
    from cnsec.vulns.inventory import discover
    from tests.vulns.conftest import corpus
    from tests.vulns.helpers import build_index

    sboms = corpus() / "inputs/trivy/integration/testdata/fixtures/sbom"
    assert [fmt.id for _, fmt in discover(sboms / "centos-7-cyclonedx.json")] == ["cyclonedx"]
    assert [fmt.id for _, fmt in discover(sboms / "centos-7-spdx.json")] == ["spdx"]
    assert list(discover(Path(__file__))) == []  # not JSON: not sniffed
    assert [p.name for p, _ in discover(sboms)] == []  # a folder walk goes by names only
    code = main(["vulns", str(sboms / "fluentd-multiple-lockfiles-cyclonedx.json"), "--db",
                 str(build_index(tmp_path)), "-f", "json", "--fail-on", "none"])
    assert code == 0 and json.loads(capsys.readouterr().out)["summary"]["packages"] == 3


def test_a_pom_property_that_expands_past_any_version_length_is_skipped_not_built(tmp_path: Path) -> None:
    # entity expansion through properties: p6 would be 10^6 copies of p0; DTD rules do not catch it
    props = "<p0>1234567890</p0>" + "".join(f"<p{i}>{f'${{p{i - 1}}}' * 10}</p{i}>" for i in range(1, 7))
    text = (f"<project><properties>{props}</properties><dependencies><dependency><groupId>g</groupId>"
            "<artifactId>a</artifactId><version>${p6}</version></dependency></dependencies></project>\n")
    start = time.monotonic()
    packages, partial = _read(_write(tmp_path, "pom.xml", text))
    assert time.monotonic() - start < 2
    assert packages == [] and partial is not None
    assert [msg for _, msg in partial.skipped] == ["g:a: version ${p6} expands past 256 characters: not matched"]


# --- defects osv-detector's parser tests found in the older readers ------------------------------------------

def test_npm_and_yarn_aliases_are_read_as_the_package_they_install(tmp_path: Path) -> None:
    # osv-detector's with-aliases fixtures: `"ansi-regex-cjs": {"version": "npm:ansi-regex@5.0.1"}` installs
    # ansi-regex 5.0.1 (its advisories apply), and a version "npm:…" is no SemVer (it made the scan exit 2)
    v1 = {"lockfileVersion": 1, "dependencies": {
        "ansi-regex": {"version": "6.0.1"}, "ansi-regex-cjs": {"version": "npm:ansi-regex@5.0.1"},
        "babel-hvi": {"version": "npm:@babel/helper-validator-identifier@7.22.20"}}}
    assert _rows(_write(tmp_path, "package-lock.json", json.dumps(v1, indent=2))) == [
        ("ansi-regex", "6.0.1", 4), ("ansi-regex", "5.0.1", 7), ("@babel/helper-validator-identifier", "7.22.20", 10)]
    classic = ('"ansi-regex-cjs@npm:ansi-regex@^5.0.0":\n  version "5.0.1"\n\nansi-regex@^6.0.0:\n  version "6.0.1"\n\n'
               '"babel-hvi@npm:@babel/helper-validator-identifier@^7.0.0":\n  version "7.22.20"\n')
    assert _rows(_write(tmp_path, "yarn.lock", classic)) == [
        ("ansi-regex", "5.0.1", 1), ("ansi-regex", "6.0.1", 4), ("@babel/helper-validator-identifier", "7.22.20", 7)]
    berry = ('__metadata:\n  version: 8\n\n"ansi-regex-cjs@npm:ansi-regex@^5.0.0":\n  version: 5.0.1\n'
             '  resolution: "ansi-regex@npm:5.0.1"\n\n"ansi-regex@npm:^6.0.0":\n  version: 6.0.1\n')
    (tmp_path / "b").mkdir()
    assert _rows(_write(tmp_path / "b", "yarn.lock", berry)) == [("ansi-regex", "5.0.1", 4), ("ansi-regex", "6.0.1", 8)]


def test_a_yarn_lock_with_quoted_keys_gives_its_versions(tmp_path: Path) -> None:
    # osv-detector's with-quotes fixtures: `"version" "0.0.1"` (classic) and `"version": 2.0.0` (berry)
    classic = 'concat-map@0.0.1:\n  "version" "0.0.1"\n  "resolved" "https://x"\n'
    assert _rows(_write(tmp_path, "yarn.lock", classic)) == [("concat-map", "0.0.1", 1)]
    berry = '__metadata:\n  version: 5\n\n"compare-func@npm:^2.0.0":\n  "version": 2.0.0\n  "resolution": "x"\n'
    (tmp_path / "b").mkdir()
    assert _rows(_write(tmp_path / "b", "yarn.lock", berry)) == [("compare-func", "2.0.0", 4)]


def test_requirements_lines_join_as_pip_joins_them_and_includes_are_followed_once(tmp_path: Path) -> None:
    # osv-detector's line-continuation.txt, read as pip reads it: comments go after the lines are joined,
    # a continuation at the end of the file still counts, the backslashes are dropped without a space
    text = ("foo==\\\n\\\n \\\n  \\\n1.2.3\n\nbar == 4.5\\\\\n.6\n\nbaz == 7.8.9 # \\\nbaz == 1.2.3\n\n"
            "-r base.txt\n--requirement=missing.txt\nqux == 10.11.12\\")
    (tmp_path / "base.txt").write_text("-r requirements.txt\nsix==1.16.0\n")  # a cycle back: read once
    packages, partial = _read(_write(tmp_path, "requirements.txt", text))
    assert [(p.name, p.version, p.line, Path(p.file).name) for p in packages] == [
        ("foo", "1.2.3", 1, "requirements.txt"), ("bar", "4.5.6", 7, "requirements.txt"),
        ("baz", "7.8.9", 10, "requirements.txt"), ("six", "1.16.0", 2, "base.txt"),
        ("qux", "10.11.12", 15, "requirements.txt")]
    assert partial is not None and partial.problems == []
    assert partial.skipped == [
        (14, "-r missing.txt: cannot be read (No such file or directory); its pins are not read")]


def test_a_requirements_file_both_included_and_found_in_the_folder_is_one_finding_not_two(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cnsec.cli import main
    from tests.vulns.helpers import build_index

    db = build_index(tmp_path)
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "requirements.txt").write_text("-r requirements-dev.txt\n")
    (proj / "requirements-dev.txt").write_text("demo-pkg==1.5\n")
    assert main(["vulns", str(proj), "--db", str(db), "-f", "json", "--fail-on", "none"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(f["package"], f["source"]["file"]) for f in report["findings"]] == [
        ("demo-pkg", str(proj / "requirements-dev.txt"))]


def test_a_go_mod_line_that_is_no_directive_is_reported_not_passed_over(tmp_path: Path) -> None:
    # osv-detector's not-go-mod.txt ("This is not a go.mod file!") read as 0 packages without a word
    text = "module x\n\ngo 1.21\n\nrequre a.example/b v1.0.0\nrequire(\n\tc.example/d v2.0.0\n)\n"
    packages, partial = _read(_write(tmp_path, "go.mod", text))
    assert [(p.name, p.line) for p in packages] == [("c.example/d", 7)]
    assert partial is not None and partial.problems == [(5, "not a go.mod directive: 'requre'")]


def test_a_pom_takes_versions_properties_and_dependencies_from_its_parent_pom_beside_it(tmp_path: Path) -> None:
    parent = ("<project><groupId>org.acme</groupId><artifactId>parent</artifactId><version>2.0</version>\n"
              "<properties><jackson.version>2.9.1</jackson.version><lib.version>1.0</lib.version></properties>\n"
              "<dependencyManagement><dependencies><dependency><groupId>com.fasterxml.jackson.core</groupId>\n"
              "<artifactId>jackson-databind</artifactId><version>${jackson.version}</version></dependency>\n"
              "</dependencies></dependencyManagement>\n"
              "<dependencies><dependency><groupId>junit</groupId><artifactId>junit</artifactId>"
              "<version>4.12</version></dependency></dependencies></project>\n")
    child = ("<project><parent><groupId>org.acme</groupId><artifactId>parent</artifactId><version>2.0</version>"
             "</parent>\n<artifactId>app</artifactId><properties><lib.version>1.5</lib.version></properties>\n"
             "<dependencies><dependency><groupId>com.fasterxml.jackson.core</groupId>\n"
             "<artifactId>jackson-databind</artifactId></dependency>\n"
             "<dependency><groupId>org.x</groupId><artifactId>lib</artifactId><version>${lib.version}</version>"
             "</dependency>\n<dependency><groupId>${project.groupId}</groupId><artifactId>core</artifactId>"
             "<version>${project.version}</version></dependency></dependencies></project>\n")
    (tmp_path / "pom.xml").write_text(parent)
    (tmp_path / "app").mkdir()
    path = _write(tmp_path / "app", "pom.xml", child)
    packages, partial = _read(path)
    assert partial is None
    assert [(p.name, p.version, Path(p.file).parent.name, p.line) for p in packages] == [
        ("com.fasterxml.jackson.core:jackson-databind", "2.9.1", "app", 3),  # managed by the parent
        ("org.x:lib", "1.5", "app", 5),  # the child's property wins
        ("org.acme:core", "2.0", "app", 6),
        ("junit:junit", "4.12", tmp_path.name, 6)]  # inherited: named by the parent's file and line


def test_a_parent_pom_of_another_project_or_unreadable_is_not_taken_for_the_parent(tmp_path: Path) -> None:
    child = ("<project><parent><groupId>org.acme</groupId><artifactId>parent</artifactId></parent>\n"
             "<artifactId>app</artifactId><dependencies><dependency><groupId>g</groupId><artifactId>a</artifactId>"
             "</dependency></dependencies></project>\n")
    (tmp_path / "pom.xml").write_text("<project><groupId>other</groupId><artifactId>x</artifactId>"
                                      "<properties><v>9</v></properties></project>\n")
    (tmp_path / "app").mkdir()
    packages, partial = _read(_write(tmp_path / "app", "pom.xml", child))
    assert packages == [] and partial is not None and [line for line, _ in partial.skipped] == [2]
    (tmp_path / "pom.xml").write_text("<project><oops></project>\n")
    packages, partial = _read(tmp_path / "app" / "pom.xml")
    assert partial is not None and partial.skipped[0][0] == 1
    assert "cannot be read (not valid XML" in partial.skipped[0][1]


@pytest.mark.corpus
def test_osv_scanners_maven_fixture_with_a_local_parent_gives_the_packages_it_found() -> None:
    from tests.vulns.conftest import corpus

    # osv-scanner's snapshot: "Scanned …/maven-transitive/registry.xml file and found 2 packages" (without
    # its deps.dev transitive resolution); registry.xml names ./parent.xml as its <relativePath>
    base = corpus() / "inputs/osv-scanner/cmd/osv-scanner/scan/source/testdata/maven-transitive"
    fmt = format_for(Path("pom.xml"))
    assert fmt is not None
    path = base / "registry.xml"
    assert sorted((p.name, p.version) for p in fmt.parse(path, path.read_text())) == [
        ("com.google.android.gms:play-services", "10.0.0"), ("org.apache.logging.log4j:log4j-web", "2.14.1")]


def test_an_imported_bom_in_dependency_management_is_not_a_package(tmp_path: Path) -> None:
    # osv-scalibr's with-parent.xml: a `<scope>import</scope>` pom in dependencyManagement is a list of
    # versions (a BOM), never on the classpath: matching it would report the BOM artifact's advisories
    text = ("<project><dependencyManagement><dependencies>\n<dependency><groupId>org.import</groupId>"
            "<artifactId>import</artifactId><version>1.2.3</version><type>pom</type><scope>import</scope>"
            "</dependency>\n<dependency><groupId>org.chuck</groupId><artifactId>chuck</artifactId>"
            "<version>3.0.0</version></dependency>\n</dependencies></dependencyManagement></project>\n")
    assert _rows(_write(tmp_path, "pom.xml", text)) == [("org.chuck:chuck", "3.0.0", 3)]
