"""Version order held to osv-scalibr's version-ordering vectors (corpora/vulns/inputs/osv-scalibr)."""

from __future__ import annotations

import pytest

from cnsec.vulns.versions import VersionError, dpkg_compare, parse
from tests.vulns.conftest import corpus


def _agreement(fname: str, ecosystem: str) -> tuple[int, int, list[str]]:
    path = corpus() / "inputs/osv-scalibr/semantic/testdata" / fname
    ok = total = 0
    wrong: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        op = next((o for o in (" < ", " = ", " > ") if o in line), None)
        if line.startswith("#") or op is None:
            continue
        a, b = line.split(op, 1)
        try:
            x, y = parse(ecosystem, a), parse(ecosystem, b)
        except VersionError:
            continue  # counted by the unreadable-version tests below
        total += 1
        right = x < y if op == " < " else y < x if op == " > " else not (x < y or y < x)
        ok += right
        if not right:
            wrong.append(line)
    return ok, total, wrong


@pytest.mark.corpus
@pytest.mark.parametrize(("fname", "ecosystem"), [
    ("semver-versions.txt", "npm"),
    ("debian-versions.txt", "Debian"),
    ("debian-versions-generated.txt", "Debian:12"),
    ("pypi-versions.txt", "PyPI"),
    ("pypi-versions-generated.txt", "PyPI"),
    ("rubygems-versions.txt", "RubyGems"),
    ("rubygems-versions-generated.txt", "RubyGems"),
    ("alpine-versions.txt", "Alpine:v3.18"),
    ("alpine-versions-generated.txt", "Alpine"),
    ("redhat-versions.txt", "Rocky Linux:9"),
])
def test_every_ordering_vector_of_an_exactly_supported_ecosystem_holds(fname: str, ecosystem: str) -> None:
    _, total, wrong = _agreement(fname, ecosystem)
    assert total > 20
    assert wrong == []


@pytest.mark.corpus
@pytest.mark.parametrize(("fname", "ecosystem", "floor"), [
    ("packagist-versions-generated.txt", "Packagist", 0.99),
    ("maven-versions-generated.txt", "Maven", 0.95),
])
def test_the_lenient_order_agrees_with_most_packagist_and_maven_vectors(fname: str, ecosystem: str,
                                                                          floor: float) -> None:
    ok, total, _ = _agreement(fname, ecosystem)
    assert ok / total >= floor


def test_a_tilde_sorts_before_the_release_and_an_epoch_beats_everything_in_dpkg() -> None:
    assert dpkg_compare("1.0~rc1-1", "1.0-1") < 0
    assert dpkg_compare("1:0.1", "9.9") > 0
    assert dpkg_compare("1.0-1", "1.0-1") == 0


def test_alpine_suffixes_order_before_and_after_the_release_and_the_build_number_counts() -> None:
    assert parse("Alpine", "1.2.3_rc1-r0") < parse("Alpine", "1.2.3-r0") < parse("Alpine", "1.2.3_p1-r0")
    assert parse("Alpine", "1.2.3-r9") < parse("Alpine", "1.2.3-r10")
    assert parse("Alpine", "1.2.3") < parse("Alpine", "1.2.3a")


def test_a_go_tag_with_a_v_and_a_prerelease_sorts_by_semver() -> None:
    assert parse("Go", "v1.2.3-rc.1") < parse("Go", "v1.2.3")
    assert parse("Go", "v0.0.0-20200101000000-abcdef") < parse("Go", "v0.1.0")


def test_a_version_pip_cannot_read_is_an_error_not_a_guess() -> None:
    with pytest.raises(VersionError):
        parse("PyPI", "0.1-bulbasaur")
