"""The end-to-end example of examples/vulns: images built from real Debian package metadata, joined to
the shop's workloads, known exploitation raising their risk, the plan naming the upgrades."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cnsec.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "vulns"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    from cnsec.vulns.index import build

    tmp = tmp_path_factory.mktemp("shop")
    subprocess.run([sys.executable, str(EXAMPLE / "make_images.py"), str(tmp / "images")], check=True,
                   capture_output=True)
    build([EXAMPLE / "osv"], tmp / "vulns.db")
    out = tmp / "shop.json"
    code = main(["assess", str(EXAMPLE / "deploy"), "--images", str(tmp / "images"), "--db", str(tmp / "vulns.db"),
                 "--kev", str(EXAMPLE / "kev.json"), "--epss", str(EXAMPLE / "epss.csv"), "-f", "json", "-o", str(out)])
    return {"code": code, "report": json.loads(out.read_text()), "images": tmp / "images"}


def test_the_example_images_are_the_same_bytes_on_every_build(tmp_path: Path, shop: dict[str, object]) -> None:
    subprocess.run([sys.executable, str(EXAMPLE / "make_images.py"), str(tmp_path)], check=True, capture_output=True)
    images = shop["images"]
    assert isinstance(images, Path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shop-cache.tar", "shop-web.tar"]
    assert all((tmp_path / p.name).read_bytes() == p.read_bytes() for p in images.iterdir())


def test_each_image_vulnerability_is_on_the_image_and_the_workload_that_runs_it_known_exploited(
        shop: dict[str, object]) -> None:
    report = shop["report"]
    assert isinstance(report, dict) and shop["code"] == 1
    vulns = {(f["asset_id"], f["check_id"]): f for f in report["findings"] if "image" in f}
    assert set(vulns) == {("Image/shop/web:1.0", "DSA-4982-1"), ("Deployment/shop/web", "DSA-4982-1"),
                          ("Image/registry.example.com/shop/cache:6.0", "DSA-5081-1"),
                          ("StatefulSet/shop/cache", "DSA-5081-1")}  # redis-server and redis-tools: one
    cache = vulns[("StatefulSet/shop/cache", "DSA-5081-1")]
    assert cache["kev"]["cve"] == "CVE-2022-0543" and cache["epss"]["score"] == 0.94385
    assert cache["privileges"] == ["privileged or host namespaces", "runs as root", "host mounts"]
    assert [s["message"] for s in report["skipped"]] == [
        "StatefulSet/shop/cache: image oliver006/redis_exporter:v1.45.0 is not among --images; its "
        "vulnerabilities are not known"]


def test_the_plan_names_each_upgrade_and_ranks_it_by_the_risk_it_removes(shop: dict[str, object]) -> None:
    report = shop["report"]
    assert isinstance(report, dict)
    upgrades = {p["title"]: p for p in report["plan"] if p["control_id"] == "CTRL-PATCH-IMAGES"}
    assert set(upgrades) == {"upgrade redis to 5:6.0.16-1+deb11u2 in image registry.example.com/shop/cache:6.0",
                             "upgrade apache2 to 2.4.51-1~deb11u1 in image shop/web:1.0"}
    redis = upgrades["upgrade redis to 5:6.0.16-1+deb11u2 in image registry.example.com/shop/cache:6.0"]
    apache = upgrades["upgrade apache2 to 2.4.51-1~deb11u1 in image shop/web:1.0"]
    # the cache holds data (criticality high) and runs privileged: its upgrade removes more risk
    assert redis["risk_reduction"] > apache["risk_reduction"] > 0 and redis["rank"] < apache["rank"]
