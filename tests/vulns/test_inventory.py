from __future__ import annotations

import json
import types
from pathlib import Path

import pytest

from cnsec.errors import InputError
from cnsec.vulns import inventory
from cnsec.vulns.inventory import discover, format_for, formats
from tests.vulns.conftest import corpus


def _parse(tmp_path: Path, name: str, text: str) -> list[tuple[str, str, int | None]]:
    path = tmp_path / name
    path.write_text(text)
    fmt = format_for(path)
    assert fmt is not None
    return [(p.name, p.version, p.line) for p in fmt.parse(path, text)]


def _error_line(tmp_path: Path, name: str, text: str) -> int | None:
    with pytest.raises(InputError) as exc:
        _parse(tmp_path, name, text)
    assert exc.value.source is not None
    return exc.value.source.line


def test_every_lockfile_format_is_found_by_discovery() -> None:
    assert set(formats()) == {"requirements", "poetry", "pipfile", "npm", "yarn", "gomod", "cargo", "gemfile",
                              "composer", "cyclonedx", "spdx", "dpkg", "apk",
                              "python-installed", "rpm", "rpm-legacy", "node-modules", "java-archive",
                              "go-binary", "pnpm", "uv", "gradle", "maven", "nuget"}


def test_two_formats_with_one_id_are_a_discovery_error(monkeypatch: pytest.MonkeyPatch) -> None:
    dup = inventory.LockfileFormat("npm", "npm", ("x.lock",), lambda p, t: [])
    real = inventory.importlib.import_module

    def fake_import(name: str) -> object:
        return types.SimpleNamespace(FORMAT=dup) if name.endswith(".yarn") else real(name)

    monkeypatch.setattr(inventory, "_FORMATS", None)
    monkeypatch.setattr(inventory.importlib, "import_module", fake_import)
    with pytest.raises(RuntimeError, match="two lockfile formats with the id 'npm'"):
        formats()
    monkeypatch.setattr(inventory, "_FORMATS", None)


def test_only_exact_pins_of_a_requirements_file_are_packages_with_their_lines(tmp_path: Path) -> None:
    text = ("# comment\n-r other.txt\nDjango==3.2.1  # pinned\nrequests>=2\nflask[async]==2.0.0 ; "
            "python_version > '3'\nurllib3==1.26.4 \\\n    --hash=sha256:abc\n-e ./local\n")
    (tmp_path / "other.txt").write_text("six==1.16.0\n")  # an include is read, its pins name it
    assert _parse(tmp_path, "requirements-dev.txt", text) == [
        ("six", "1.16.0", 1), ("Django", "3.2.1", 3), ("flask", "2.0.0", 5), ("urllib3", "1.26.4", 6)]


def test_a_requirement_that_does_not_parse_names_its_line_and_the_other_lines_are_kept(tmp_path: Path) -> None:
    from cnsec.vulns.inventory import PartlyRead

    path = tmp_path / "requirements.txt"
    with pytest.raises(PartlyRead) as exc:
        format_for(path).parse(path, "a==1\nb ==== 2\nc==3\n")  # type: ignore[union-attr]
    assert [(p.name, p.line) for p in exc.value.packages] == [("a", 1), ("c", 3)]
    assert [line for line, _ in exc.value.problems] == [2]


def test_package_lock_v1_nested_and_v3_flat_give_every_installed_copy(tmp_path: Path) -> None:
    v1 = {"lockfileVersion": 1, "dependencies": {
        "a": {"version": "1.0.0", "dependencies": {"b": {"version": "2.0.0"}}},
        "b": {"version": "3.0.0"}, "c": {"version": "file:../c"}}}
    assert _parse(tmp_path, "package-lock.json", json.dumps(v1, indent=2)) == [
        ("a", "1.0.0", 4), ("b", "2.0.0", 7), ("b", "3.0.0", 12)]
    v3 = {"lockfileVersion": 3, "packages": {"": {"name": "root"}, "node_modules/@s/x": {"version": "1.2.3"},
                                             "node_modules/@s/x/node_modules/y": {"version": "0.1.0"},
                                             "node_modules/l": {"link": True}}}
    (tmp_path / "v3").mkdir()
    assert _parse(tmp_path / "v3", "package-lock.json", json.dumps(v3, indent=2)) == [
        ("@s/x", "1.2.3", 7), ("y", "0.1.0", 10)]


def test_a_package_lock_that_is_not_json_names_its_line(tmp_path: Path) -> None:
    assert _error_line(tmp_path, "package-lock.json", '{\n  "packages": {\n    "x": ,\n  }\n}') == 3


def test_yarn_classic_and_berry_entries_give_name_version_and_header_line(tmp_path: Path) -> None:
    classic = ('# yarn lockfile v1\n\n"@babel/core@^7.0.0", "@babel/core@^7.1.0":\n  version "7.12.3"\n'
               '  dependencies:\n    x "^1"\n\nlodash@^4:\n  version "4.17.19"\n')
    assert _parse(tmp_path, "yarn.lock", classic) == [("@babel/core", "7.12.3", 3), ("lodash", "4.17.19", 8)]
    berry = ('__metadata:\n  version: 6\n\n"lodash@npm:^4":\n  version: 4.17.21\n\n'
             '"app@workspace:.":\n  version: 0.0.0-use.local\n')
    (tmp_path / "b").mkdir()
    assert _parse(tmp_path / "b", "yarn.lock", berry) == [("lodash", "4.17.21", 4)]


def test_a_yarn_lock_with_a_broken_header_names_its_line(tmp_path: Path) -> None:
    assert _error_line(tmp_path, "yarn.lock", 'a@^1:\n  version "1.0.0"\nnot a header\n') == 3


def test_go_mod_requires_with_replace_applied(tmp_path: Path) -> None:
    text = ("module x\n\ngo 1.21\n\nrequire github.com/a/b v1.2.0\n\nrequire (\n\tgolang.org/x/net v0.1.0 "
            "// indirect\n\texample.com/local v1.0.0\n)\n\nreplace example.com/local => ../local\n"
            "replace github.com/a/b v1.2.0 => github.com/fork/b v1.2.1\n")
    assert _parse(tmp_path, "go.mod", text) == [("github.com/fork/b", "v1.2.1", 5), ("golang.org/x/net", "v0.1.0", 8)]


def test_an_unterminated_go_mod_block_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unterminated"):
        _parse(tmp_path, "go.mod", "module x\nrequire (\n\ta v1.0.0\n")


def test_cargo_and_poetry_locks_give_their_package_tables_with_lines(tmp_path: Path) -> None:
    text = '[[package]]\nname = "serde"\nversion = "1.0.0"\n\n[[package]]\nname = "smallvec"\nversion = "1.6.0"\n'
    assert _parse(tmp_path, "Cargo.lock", text) == [("serde", "1.0.0", 2), ("smallvec", "1.6.0", 6)]
    assert _error_line(tmp_path, "poetry.lock", '[[package]]\nname = "x"\nversion = \n') == 3


def test_gemfile_lock_specs_drop_the_platform_and_skip_dependency_lines(tmp_path: Path) -> None:
    text = ("GEM\n  remote: https://rubygems.org/\n  specs:\n    nokogiri (1.13.10-x86_64-linux)\n"
            "      racc (~> 1.4)\n    rack (2.2.3)\n\nPLATFORMS\n  ruby\n")
    assert _parse(tmp_path, "Gemfile.lock", text) == [("nokogiri", "1.13.10", 4), ("rack", "2.2.3", 6)]


def test_composer_lock_packages_lose_the_v_and_branches_are_skipped(tmp_path: Path) -> None:
    data = {"packages": [{"name": "a/b", "version": "v1.0.8"}, {"name": "c/d", "version": "dev-main"}],
            "packages-dev": [{"name": "e/f", "version": "2.0.0"}]}
    assert _parse(tmp_path, "composer.lock", json.dumps(data, indent=2)) == [("a/b", "1.0.8", 4), ("e/f", "2.0.0", 14)]


def test_discovery_walks_folders_but_not_node_modules(tmp_path: Path) -> None:
    (tmp_path / "app" / "node_modules" / "x").mkdir(parents=True)
    (tmp_path / "app" / "package-lock.json").write_text("{}")
    (tmp_path / "app" / "node_modules" / "x" / "package-lock.json").write_text("{}")
    (tmp_path / "README.md").write_text("x")
    assert [p.relative_to(tmp_path).as_posix() for p, _ in discover(tmp_path)] == ["app/package-lock.json"]


@pytest.mark.corpus
def test_the_real_osv_detector_lockfiles_give_the_packages_it_found() -> None:
    oracle = json.loads((corpus() / "oracles/osv-detector-locks-e2e.json").read_text())
    for name, entry in oracle.items():
        fmt = format_for(Path(name.split("-", 1)[1]))
        assert fmt is not None, name
        path = corpus() / entry["input"]
        try:
            found = {(p.name, p.version) for p in fmt.parse(path, path.read_text())}
        except inventory.PartlyRead as partial:  # a go 1.16 go.mod without its go.sum: said, not an error
            assert partial.problems == [], name
            found = {(p.name, p.version) for p in partial.packages}
        # composer: osv-detector also counts dev- branches; yarn 3: it keeps 4 specs that alias one name
        assert entry["packages_found"] - 5 <= len(found) <= entry["packages_found"], name


def test_a_cyclonedx_sbom_gives_its_nested_components_by_purl_and_counts_other_types(tmp_path: Path) -> None:
    bom = {"bomFormat": "CycloneDX", "specVersion": "1.5",
           "metadata": {"component": {"purl": "pkg:npm/app@1.0.0"}},
           "components": [{"purl": "pkg:npm/%40babel/core@7.1.0", "components": [
               {"purl": "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1?type=jar"}]},
               {"purl": "pkg:deb/debian/zlib1g@1.2.13?distro=debian-12"}, {"name": "no purl"}]}
    with pytest.raises(inventory.PartlyRead) as exc:  # the component without a purl is said, not dropped
        _parse(tmp_path, "app.cdx.json", json.dumps(bom, indent=2))
    got = [(p.name, p.version, p.line) for p in exc.value.packages]
    assert got == [("@babel/core", "7.1.0", 11), ("org.apache.logging.log4j:log4j-core", "2.14.1", 14),
                   ("zlib1g", "1.2.13", 19)]  # a deb purl naming its release is matched (Debian:12)
    assert exc.value.problems == [] and exc.value.skipped == [
        (None, "1 component(s) without a package URL (purl), so without an ecosystem to be matched in: no purl")]


def test_a_component_purl_without_a_version_is_an_error_with_its_line(tmp_path: Path) -> None:
    bom = {"bomFormat": "CycloneDX", "components": [{"purl": "pkg:pypi/django"}]}
    assert _error_line(tmp_path, "bom.json", json.dumps(bom, indent=2)) == 5


def test_an_spdx_document_gives_its_purl_references(tmp_path: Path) -> None:
    doc = {"spdxVersion": "SPDX-2.3", "packages": [
        {"name": "x", "externalRefs": [{"referenceType": "cpe23Type", "referenceLocator": "cpe:2.3:a:x"},
                                       {"referenceType": "purl", "referenceLocator": "pkg:pypi/Django_X@3.2"}]}]}
    assert [(n, v) for n, v, _ in _parse(tmp_path, "sbom.spdx.json", json.dumps(doc))] == [("Django-X", "3.2")]


@pytest.mark.parametrize(("purl", "expected"), [
    ("pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12",
     ("Debian:12", "openssl", "3.0.11-1~deb12u2")),
    ("pkg:deb/debian/openssl@1.1.1n?distro=bullseye", ("Debian:11", "openssl", "1.1.1n")),
    ("pkg:deb/ubuntu/curl@7.81.0-1ubuntu1.15?distro=ubuntu-22.04", ("Ubuntu:22.04", "curl", "7.81.0-1ubuntu1.15")),
    ("pkg:apk/alpine/musl@1.2.4-r2?distro=alpine-3.18.4", ("Alpine:v3.18", "musl", "1.2.4-r2")),
    ("pkg:deb/debian/openssl@3.0.11", ("unsupported:deb", "openssl", "")),  # no release: never guessed
])
def test_os_package_urls_are_matched_under_the_release_their_distro_qualifier_names(
        purl: str, expected: tuple[str, str, str]) -> None:
    from cnsec.vulns.inventory._purl import parse

    assert parse(purl) == expected
