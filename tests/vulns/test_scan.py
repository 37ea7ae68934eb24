from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from cnsec.cli import main
from tests.vulns.helpers import build_index


def _project(tmp_path: Path) -> Path:
    proj = tmp_path / "proj"
    (proj / "svc").mkdir(parents=True)
    (proj / "requirements.txt").write_text("demo-pkg==1.5\nother==1.4\nsafe==1.0\n")
    (proj / "svc" / "go.mod").write_text("module svc\n\nrequire example.com/mod v1.5.0\n")
    return proj


def _scan(tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict, str]:  # type: ignore[type-arg]
    db = build_index(tmp_path)
    code = main(["vulns", str(_project(tmp_path)), "--db", str(db), "-f", "json", *extra])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip().startswith("{") else {}, err


def test_a_pinned_vulnerable_package_is_a_finding_with_advisory_aliases_severity_and_fix(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report, _ = _scan(tmp_path, capsys, "--fail-on", "none")
    assert code == 0
    found = {(f["package"], f["installed_version"], f["advisory"]): f for f in report["findings"]}
    # PYSEC-2099-1 and its alias GHSA-aaaa-bbbb-cccc are one finding; the withdrawn PYSEC-2099-3 is none
    assert sorted(found) == [("demo-pkg", "1.5", "PYSEC-2099-1"), ("example.com/mod", "v1.5.0", "GO-2099-1"),
                             ("other", "1.4", "PYSEC-2099-2")]
    demo = found[("demo-pkg", "1.5", "PYSEC-2099-1")]
    assert demo["severity"] == "critical" and demo["cvss_score"] == 9.8
    assert demo["aliases"] == ["CVE-2099-0001", "GHSA-aaaa-bbbb-cccc"] and demo["fixed_version"] == "2.0.1"
    assert demo["source"]["line"] == 1 and demo["source"]["file"].endswith("requirements.txt")
    go = found[("example.com/mod", "v1.5.0", "GO-2099-1")]
    assert go["severity"] == "medium" and go["severity_source"] == "none"  # unscored: documented fallback
    assert found[("other", "1.4", "PYSEC-2099-2")]["fixed_version"] is None  # last_affected, no fix
    assert report["summary"]["withdrawn_skipped"] == 1 and report["summary"]["packages"] == 4


def test_fail_on_uses_the_advisory_severity(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _scan(tmp_path, capsys, "--fail-on", "critical")[0] == 1


def test_a_version_past_last_affected_or_at_the_fix_is_not_reported(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    db = build_index(tmp_path)
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "requirements.txt").write_text("demo-pkg==2.0.1\nother==1.4.1\nother2==0.1\n")
    assert main(["vulns", str(tmp_path / "p"), "--db", str(db), "-f", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["findings"] == []


def test_sarif_output_carries_one_rule_per_advisory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = build_index(tmp_path)
    main(["vulns", str(_project(tmp_path)), "--db", str(db), "-f", "sarif", "--fail-on", "none"])
    sarif = json.loads(capsys.readouterr().out)
    rules = {r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert rules == {"PYSEC-2099-1", "PYSEC-2099-2", "GO-2099-1"}


def test_a_scan_without_an_index_says_how_to_build_one_and_exits_2(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["vulns", str(_project(tmp_path)), "--db", str(tmp_path / "missing.db")])
    assert code == 2
    assert "cnsec vulndb build" in capsys.readouterr().err


def test_a_lockfile_that_does_not_parse_is_named_with_its_line_and_the_rest_is_scanned(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = build_index(tmp_path)
    proj = _project(tmp_path)
    (proj / "svc" / "yarn.lock").write_text('a@^1:\n  version "1.0.0"\nbroken line\n')
    (proj / "svc" / "Cargo.lock").write_text('[[package]]\nname = "x"\nversion = "not-semver!"\n')
    code = main(["vulns", str(proj), "--db", str(db), "-f", "json", "--fail-on", "none"])
    out, err = capsys.readouterr()
    assert code == 2
    assert "yarn.lock:3: not a yarn.lock entry header" in err
    assert len(json.loads(out)["findings"]) == 3


def test_an_unreadable_installed_version_is_an_error_with_its_line(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    db = build_index(tmp_path)
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "requirements.txt").write_text("safe==1\ndemo-pkg===1.0-bulbasaur\n")
    code = main(["vulns", str(tmp_path / "p"), "--db", str(db), "-f", "json"])
    assert code == 2
    assert "requirements.txt:2: demo-pkg: not a PEP 440 version" in capsys.readouterr().err


def test_an_old_index_gives_a_warning_and_says_so_in_the_report(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    db = build_index(tmp_path)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET value = '2020-01-01T00:00:00+00:00' WHERE key = 'built_at'")
    main(["vulns", str(_project(tmp_path)), "--db", str(db), "-f", "json", "--max-db-age", "30"])
    out, err = capsys.readouterr()
    assert "vulnerability index is" in err and "days old" in err
    index = json.loads(out)["summary"]["index"]
    assert index["stale"] is True and isinstance(index["sources"], list) and index["sources"]


def test_vulndb_build_reports_a_corrupt_archive_with_exit_2_and_builds_the_rest(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.vulns.helpers import DEFAULT_RECORDS, write_zip

    write_zip(tmp_path / "src" / "PyPI" / "all.zip", DEFAULT_RECORDS)
    (tmp_path / "src" / "npm").mkdir()
    (tmp_path / "src" / "npm" / "all.zip").write_bytes(b"not a zip")
    code = main(["vulndb", "build", str(tmp_path / "src"), "--db", str(tmp_path / "v.db")])
    err = capsys.readouterr().err
    assert code == 2
    assert "npm/all.zip: not a readable zip archive" in err and "5 advisories" in err
    assert (tmp_path / "v.db").is_file()


@pytest.mark.corpus
def test_real_sboms_are_matched_through_their_purls_and_other_types_are_counted(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cnsec.vulns.index import build
    from tests.vulns.conftest import corpus

    adv = corpus() / "advisories"
    db = tmp_path / "v.db"
    build([adv / "osv-upstream/crates.io/all.zip", adv / "osv-harvested/Maven/all.zip"], db)
    sbom = corpus() / "inputs/osv-scalibr/extractor/filesystem/sbom"
    code = main(["vulns", str(sbom / "cdx/testdata/sbom-with-nested-comps.cdx.json"),
                 str(sbom / "spdx/testdata/ancestor_of.spdx.json"), str(sbom / "cdx/testdata/sbom.cdx.json"),
                 "--db", str(db), "-f", "json", "--fail-on", "none"])
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert code == 0
    found = {(f["package"], f["advisory"]) for f in report["findings"]}
    assert ("rustls", "RUSTSEC-2024-0399") in found
    assert {p for p, _ in found} == {"rustls", "log4j:log4j"}
    assert report["summary"]["not_matched"] == {"pkg:generic": 2}
    assert err.count("pkg:generic package(s) not matched") == 2  # one per SBOM that has one
    assert [s["message"].split(" package")[0] for s in report["skipped"]
            if "pkg:generic" in s["message"]] == ["1 pkg:generic", "1 pkg:generic"]
    # entries without a purl (Nginx with only a CPE, an SPDX package with a source URI) are said too
    assert sorted(s["message"].split(": ")[-1] for s in report["skipped"] if "without a package URL" in s["message"]) \
        == ["Nginx 1.21.1", "Nginx 1.21.1", "v1_2_15"]


def test_a_fifo_named_like_a_lockfile_is_refused_by_name_not_read_forever(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import os

    proj = _project(tmp_path)
    os.mkfifo(proj / "svc" / "poetry.lock")
    db = build_index(tmp_path)
    code = main(["vulns", str(proj), str(proj / "svc" / "poetry.lock"), "--db", str(db), "-f", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 2
    assert [e["message"] for e in report["errors"]] == ["not a regular file; refused"] * 2
    assert report["summary"]["packages"] == 4  # the regular lockfiles are still scanned


def test_a_folder_that_cannot_be_listed_is_reported_not_skipped_in_silence(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    proj = _project(tmp_path)
    locked, real_scandir = str(proj / "svc"), os.scandir

    def scandir(path: str) -> object:
        if str(path) == locked:
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    db = build_index(tmp_path)
    code = main(["vulns", str(proj), "--db", str(db), "-f", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 2
    assert [(e["file"], e["message"]) for e in report["errors"]] == [
        (locked, "cannot read folder: Permission denied; skipped")]


def test_one_bad_line_of_a_requirements_file_costs_that_line_not_the_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = build_index(tmp_path)
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "requirements.txt").write_text("demo-pkg==1.5\nbroken ===\n")
    code = main(["vulns", str(tmp_path / "p"), "--db", str(db), "-f", "json", "--fail-on", "none"])
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert code == 2 and "requirements.txt:2: not a requirement" in err
    assert report["summary"]["packages"] == 1 and [f["package"] for f in report["findings"]] == ["demo-pkg"]
