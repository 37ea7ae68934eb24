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
        for pkg in fmt.parse(path, path.read_text()):
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
