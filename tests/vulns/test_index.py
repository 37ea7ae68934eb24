from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from cnsec.errors import InputError
from cnsec.vulns.index import Index, build
from tests.vulns.conftest import corpus
from tests.vulns.helpers import DEFAULT_RECORDS, build_index, record, write_zip


def test_an_index_holds_ranges_aliases_scored_severity_and_withdrawn_flags(tmp_path: Path) -> None:
    db = build_index(tmp_path)
    index = Index(db)
    entries = index.affected("PyPI", "demo.pkg", "1.0")  # PEP 503: Demo_Pkg, demo-pkg and demo.pkg are one name
    assert sorted(e.vuln_id for e in entries) == ["GHSA-aaaa-bbbb-cccc", "PYSEC-2099-1", "PYSEC-2099-3"]
    adv = index.advisory("PYSEC-2099-1")
    assert adv.aliases == ("CVE-2099-0001", "GHSA-aaaa-bbbb-cccc")
    assert (adv.severity, adv.score, adv.severity_source) == ("critical", 9.8, "cvss_v3")
    assert index.advisory("GHSA-aaaa-bbbb-cccc").severity == "medium"  # GHSA's MODERATE
    assert index.advisory("PYSEC-2099-3").withdrawn
    assert index.advisory("GO-2099-1").severity is None
    assert index.meta["built_at"] and json.loads(index.meta["sources"])


def test_git_ranges_are_ignored_and_counted(tmp_path: Path) -> None:
    r = record("GO-2099-9", "Go", "m", [{"introduced": "0"}, {"fixed": "1.0.0"}])
    r["affected"][0]["ranges"].append({"type": "GIT", "repo": "https://x", "events": [{"introduced": "0"}]})
    result = build([write_zip(tmp_path / "a.zip", [r])], tmp_path / "v.db")
    assert result.git_ranges_ignored == 1 and result.records == 1


def test_a_corrupt_archive_and_a_broken_record_are_named_and_the_rest_is_built(tmp_path: Path) -> None:
    write_zip(tmp_path / "src" / "good" / "all.zip", DEFAULT_RECORDS)
    (tmp_path / "src" / "bad").mkdir()
    (tmp_path / "src" / "bad" / "all.zip").write_bytes(b"PK\x03\x04 truncated")
    (tmp_path / "src" / "broken.json").write_text('{\n  "id": "X-1",\n  "affected": [,]\n}\n')
    result = build([tmp_path / "src"], tmp_path / "v.db")
    problems = {(Path(p.file).name, p.line) for p in result.errors}
    assert ("all.zip", None) in problems and ("broken.json", 3) in problems
    assert result.records == len(DEFAULT_RECORDS)


def test_a_record_that_is_not_json_inside_a_zip_is_reported_with_member_and_line(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "all.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("A-1.json", json.dumps(DEFAULT_RECORDS[0]))
        zf.writestr("B-2.json", '{"id": "B-2",\n\n "affected": nope}')
    result = build([path], tmp_path / "v.db")
    assert [(p.file.endswith("all.zip!B-2.json"), p.line) for p in result.errors] == [(True, 3)]
    assert result.records == 1


def test_a_failed_build_keeps_the_old_index_and_leaves_no_temp_file(tmp_path: Path) -> None:
    db = build_index(tmp_path)
    before = db.read_bytes()
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "x.json").write_text("[]")
    with pytest.raises(InputError, match="index was not replaced"):
        build([tmp_path / "empty"], db)
    assert db.read_bytes() == before
    assert [p.name for p in db.parent.iterdir()] == ["vulns.db"]


def test_a_scan_opens_the_index_read_only(tmp_path: Path) -> None:
    index = Index(build_index(tmp_path))
    with pytest.raises(sqlite3.OperationalError):
        index.conn.execute("DELETE FROM vulns")


def test_a_missing_index_says_how_to_build_one(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cnsec vulndb build"):
        Index(tmp_path / "none.db")


def test_a_file_that_is_not_an_index_is_refused_clearly(tmp_path: Path) -> None:
    (tmp_path / "v.db").write_text("hello")
    with pytest.raises(InputError, match="not a cnsec vulnerability index"):
        Index(tmp_path / "v.db")


@pytest.mark.corpus
def test_the_real_go_vulndb_archive_indexes_gin_with_its_aliases(tmp_path: Path) -> None:
    result = build([corpus() / "advisories/osv-upstream/Go/all.zip"], tmp_path / "v.db")
    assert result.errors == [] and result.records > 4000
    index = Index(tmp_path / "v.db")
    assert "GO-2020-0001" in {e.vuln_id for e in index.affected("Go", "github.com/gin-gonic/gin", "v1.5.0")}
    assert "GHSA-6vm3-jj99-7229" in index.advisory("GO-2020-0001").aliases


def test_the_index_lives_in_the_data_directory_unless_told_otherwise(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from cnsec.vulns.index import default_path

    monkeypatch.delenv("CNSEC_VULNDB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_path() == tmp_path / "xdg" / "cnsec" / "vulns.db"
    monkeypatch.setenv("CNSEC_VULNDB", str(tmp_path / "other.db"))
    assert default_path() == tmp_path / "other.db"
