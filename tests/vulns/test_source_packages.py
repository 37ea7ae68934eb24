"""Distribution advisories name source packages: the binary packages built from one source (redis-server
and redis-tools from redis) at one version are one vulnerability of the system, reported once — two
findings with one id would break baselines and SARIF fingerprints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cnsec.cli import main
from tests.vulns.test_exploitation import DATA, DEBIAN_11

REDIS_BINARIES = (b"Package: redis-server\nStatus: install ok installed\nSource: redis\nVersion: 5:6.0.16-1+deb11u1\n\n"
                  b"Package: redis-tools\nStatus: install ok installed\nSource: redis\nVersion: 5:6.0.16-1+deb11u1\n")


def test_two_binary_packages_of_one_source_package_are_one_finding_with_a_unique_id(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cnsec.vulns.index import build

    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "etc/os-release").write_bytes(DEBIAN_11)
    (root / "var/lib/dpkg").mkdir(parents=True)
    (root / "var/lib/dpkg/status").write_bytes(REDIS_BINARIES)
    build([DATA / "osv"], tmp_path / "vulns.db")
    main(["vulns", str(root), "--db", str(tmp_path / "vulns.db"), "-f", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert [(f["advisory"], f["package"], f["source"]["line"]) for f in findings] == [("DSA-5081-1", "redis", 1)]
    assert len({f["id"] for f in findings}) == len(findings)
