"""``cnsec assess ./deploy --images ./images/``: image vulnerabilities become findings on the image and on
every workload that runs it, scored with the workload's exposure and privileges and with KEV/EPSS; the
plan says which package to upgrade in which image; nothing unmatched is silent."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from cnsec.cli import main
from tests.vulns.test_exploitation import DATA, DEBIAN_11

REDIS = b"Package: redis-server\nStatus: install ok installed\nSource: redis\nVersion: 5:6.0.16-1+deb11u1\n"
APACHE = b"Package: apache2\nStatus: install ok installed\nVersion: 2.4.48-3.1+deb11u1\n"

DEPLOY = {
    "web.yaml": """apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: shop/web:1.0
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 80}]
""",
    "admin.yaml": """apiVersion: apps/v1
kind: Deployment
metadata: {name: web-admin, namespace: shop}
spec:
  selector: {matchLabels: {app: web-admin}}
  template:
    metadata: {labels: {app: web-admin}}
    spec:
      containers:
        - name: web
          image: docker.io/shop/web:1.0
          securityContext: {privileged: true}
      volumes:
        - name: host
          hostPath: {path: /var/run/docker.sock}
""",
    "cache.yaml": """apiVersion: apps/v1
kind: Deployment
metadata: {name: cache, namespace: shop}
spec:
  selector: {matchLabels: {app: cache}}
  template:
    metadata: {labels: {app: cache}}
    spec:
      containers:
        - name: redis
          image: shop/cache:6.0
        - name: worker
          image: shop/worker:2
""",
}


def _layer(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _add(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tf.addfile(info, io.BytesIO(data))


def docker_save(path: Path, tags: list[str], dpkg: bytes) -> Path:
    """A ``docker save`` tarball (legacy layout) of one Debian 11 layer holding ``dpkg``."""
    with tarfile.open(path, "w") as tf:
        _add(tf, "layer0/layer.tar", _layer({"etc/os-release": DEBIAN_11, "var/lib/dpkg/status": dpkg}))
        _add(tf, "manifest.json", json.dumps([{"Config": "c.json", "RepoTags": tags,
                                               "Layers": ["layer0/layer.tar"]}]).encode())
    return path


def oci_layout(folder: Path, name: str, dpkg: bytes) -> tuple[Path, str]:
    """An OCI layout whose index names the image as containerd does; returns it and its manifest digest."""
    blobs = folder / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def put(data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return f"sha256:{digest}"

    layer = _layer({"etc/os-release": DEBIAN_11, "var/lib/dpkg/status": dpkg})
    manifest = put(json.dumps({"schemaVersion": 2, "layers": [
        {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": put(layer), "size": len(layer)}]}).encode())
    (folder / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest,
         "annotations": {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": "6.0"}}]}))
    (folder / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return folder, manifest


@pytest.fixture
def site(tmp_path: Path) -> dict[str, Path]:
    from cnsec.vulns.index import build

    deploy = tmp_path / "deploy"
    deploy.mkdir()
    for name, text in DEPLOY.items():
        (deploy / name).write_text(text)
    images = tmp_path / "images"
    images.mkdir()
    docker_save(images / "web.tar", ["shop/web:1.0"], APACHE)
    oci_layout(images / "cache", "docker.io/shop/cache:6.0", REDIS)
    docker_save(images / "orphan.tar", ["shop/orphan:1"], REDIS)
    (images / "README.txt").write_text("images saved with docker save\n")
    db = tmp_path / "vulns.db"
    build([DATA / "osv"], db)
    return {"deploy": deploy, "images": images, "db": db}


def _assess(site: dict[str, Path], capsys: pytest.CaptureFixture[str], *extra: str,
            fmt: str = "json") -> tuple[int, Any]:
    code = main(["assess", str(site["deploy"]), "--images", str(site["images"]), "--db", str(site["db"]),
                 "-f", fmt, "--fail-on", "none", *extra])
    out = capsys.readouterr().out
    return code, json.loads(out) if fmt in ("json", "sarif") else out


def _vulns(report: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(f["asset_id"], f["check_id"]): f for f in report["findings"] if "image" in f}


def test_an_image_vulnerability_is_a_finding_on_the_image_and_on_every_workload_that_runs_it(
        site: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, report = _assess(site, capsys)
    assert code == 0
    assert set(_vulns(report)) == {
        ("Image/shop/web:1.0", "DSA-4982-1"), ("Deployment/shop/web", "DSA-4982-1"),
        ("Deployment/shop/web-admin", "DSA-4982-1"),  # docker.io/shop/web:1.0 is shop/web:1.0
        ("Image/shop/cache:6.0", "DSA-5081-1"), ("Deployment/shop/cache", "DSA-5081-1"),  # an OCI layout
        ("Image/shop/orphan:1", "DSA-5081-1")}
    on_web = _vulns(report)[("Deployment/shop/web", "DSA-4982-1")]
    assert on_web["threat_ids"] == ["known-vulnerability"] and on_web["control_id"] == "CTRL-PATCH-IMAGES"
    assert on_web["source"]["file"].endswith("web.yaml") and on_web["image"] == "Image/shop/web:1.0"
    image_assets = {a["id"]: a for a in report["assets"] if a["type"] == "image"}
    assert image_assets["Image/shop/web:1.0"]["attrs"]["workloads"] == ["Deployment/shop/web",
                                                                         "Deployment/shop/web-admin"]
    assert {r["asset_id"] for r in report["risks"] if r["threat_id"] == "known-vulnerability"} >= {
        "Deployment/shop/web", "Deployment/shop/web-admin", "Deployment/shop/cache", "Image/shop/web:1.0"}


def test_images_run_by_no_workload_and_workload_images_not_given_are_reported_as_skipped(
        site: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    _, report = _assess(site, capsys)
    messages = [s["message"] for s in report["skipped"]]
    assert "Deployment/shop/cache: image shop/worker:2 is not among --images; its vulnerabilities are not known" \
        in messages
    assert any(s["file"].endswith("orphan.tar") and "shop/orphan:1 runs in no workload" in s["message"]
               for s in report["skipped"])
    assert any(s["file"].endswith("README.txt") and "not a container image" in s["message"]
               for s in report["skipped"])
    assert report["summary"]["images"]["workload_images_not_given"] == 1


def test_privileges_exposure_and_known_exploitation_raise_the_likelihood(
        site: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    _, plain = _assess(site, capsys)
    v = _vulns(plain)
    web, admin = v[("Deployment/shop/web", "DSA-4982-1")], v[("Deployment/shop/web-admin", "DSA-4982-1")]
    assert "privileged or host namespaces" in admin["privileges"] and "host mounts" in admin["privileges"]
    assert admin["exploitability"] > web["exploitability"] > 0
    risks = {(r["asset_id"], r["threat_id"]): r for r in plain["risks"]}
    image_risk = risks[("Image/shop/web:1.0", "known-vulnerability")]
    web_risk = risks[("Deployment/shop/web", "known-vulnerability")]
    assert "exposure internet 1.00" in web_risk["explanation"] and "exposure none" in image_risk["explanation"]
    assert web_risk["likelihood"] > image_risk["likelihood"]
    _, known = _assess(site, capsys, "--kev", str(DATA / "kev-slice.json"), "--epss", str(DATA / "epss-slice.csv"))
    kv = _vulns(known)
    cache_before, cache_after = v[("Deployment/shop/cache", "DSA-5081-1")], kv[("Deployment/shop/cache", "DSA-5081-1")]
    assert cache_after["kev"]["cve"] == "CVE-2022-0543" and cache_after["exploitability"] >= 0.95
    assert cache_after["exploitability"] > cache_before["exploitability"]
    assert "known exploited (KEV)" in cache_after["exploitability_why"]


def test_the_plan_says_which_package_to_upgrade_to_which_version_in_which_image_ranked_by_risk_removed(
        site: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    _, report = _assess(site, capsys, "--kev", str(DATA / "kev-slice.json"))
    upgrades = [p for p in report["plan"] if p["control_id"] == "CTRL-PATCH-IMAGES"]
    titles = [p["title"] for p in upgrades]
    assert set(titles) == {"upgrade apache2 to 2.4.51-1~deb11u1 in image shop/web:1.0",
                           "upgrade redis to 5:6.0.16-1+deb11u2 in image shop/cache:6.0",
                           "upgrade redis to 5:6.0.16-1+deb11u2 in image shop/orphan:1"}
    web = next(p for p in upgrades if "shop/web" in p["title"])
    assert len(web["finding_ids"]) == 3  # the image and both workloads that run it
    ranks = [p["risk_reduction"] for p in report["plan"]]
    assert ranks == sorted(ranks, reverse=True) and all(p["risk_reduction"] > 0 for p in upgrades)


def test_a_vex_statement_suppresses_the_vulnerability_on_the_image_and_its_workloads_and_leaves_the_plan(
        site: dict[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    vex = tmp_path / "redis.openvex.json"
    vex.write_text(json.dumps({"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{
        "vulnerability": {"name": "CVE-2022-0543"}, "status": "not_affected",
        "justification": "vulnerable_code_cannot_be_controlled_by_adversary",
        "impact_statement": "Lua scripting is disabled by the shop's redis.conf",
        "products": [{"@id": "pkg:oci/cache", "subcomponents": [{"@id": "pkg:deb/debian/redis"}]}]}]}))
    _, report = _assess(site, capsys, "--vex", str(vex))
    v = _vulns(report)
    # the product names the cache image: the same package in shop/orphan is not covered
    assert v[("Image/shop/cache:6.0", "DSA-5081-1")]["suppressed"] is True
    assert v[("Deployment/shop/cache", "DSA-5081-1")]["suppressed"] is True
    assert "Lua scripting is disabled" in v[("Deployment/shop/cache", "DSA-5081-1")]["suppression_reason"]
    assert v[("Image/shop/orphan:1", "DSA-5081-1")]["suppressed"] is False
    assert not any("shop/cache" in p["title"] for p in report["plan"])
    assert not any(r["asset_id"] == "Deployment/shop/cache" and r["threat_id"] == "known-vulnerability"
                   for r in report["risks"])


@pytest.mark.parametrize(("fmt", "shown"), [
    ("markdown", "## Vulnerabilities"),
    ("markdown", "| unknown (ranked medium) | DSA-4982-1 | apache2 | 2.4.48-3.1+deb11u1 |"),
    ("markdown", "upgrade apache2 to 2.4.51-1~deb11u1 in image shop/web:1.0"),
    ("sarif", '"ruleId": "DSA-5081-1"'), ("table", "upgrade redis")])
def test_every_format_carries_the_image_vulnerabilities(
        site: dict[str, Path], capsys: pytest.CaptureFixture[str], fmt: str, shown: str) -> None:
    code = main(["assess", str(site["deploy"]), "--images", str(site["images"]), "--db", str(site["db"]),
                 "-f", fmt, "--fail-on", "none"])
    out = capsys.readouterr().out
    assert code == 0 and shown in out


def test_the_assessment_of_the_manifests_is_the_same_with_and_without_images(
        site: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    main(["assess", str(site["deploy"]), "-f", "json", "--fail-on", "none"])
    alone = json.loads(capsys.readouterr().out)
    _, joined = _assess(site, capsys)
    assert [f for f in joined["findings"] if "image" not in f] == alone["findings"]
    kept = {(r["asset_id"], r["threat_id"]): r for r in joined["risks"]}
    assert all(kept[(r["asset_id"], r["threat_id"])] == r for r in alone["risks"])


def test_without_an_index_assess_with_images_says_how_to_build_one(
        site: dict[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["assess", str(site["deploy"]), "--images", str(site["images"]), "--db", str(tmp_path / "none.db")])
    err = capsys.readouterr().err
    assert code == 2 and "no vulnerability index at" in err and "cnsec vulndb build DIR" in err


@pytest.mark.parametrize(("ref", "normal"), [
    ("nginx", ("docker.io/library/nginx", "latest", None)),
    ("nginx:1.25", ("docker.io/library/nginx", "1.25", None)),
    ("docker.io/library/nginx:1.25", ("docker.io/library/nginx", "1.25", None)),
    ("index.docker.io/bitnami/redis:7", ("docker.io/bitnami/redis", "7", None)),
    ("localhost:5000/app", ("localhost:5000/app", "latest", None)),
    ("ghcr.io/org/app@sha256:ABC", ("ghcr.io/org/app", None, "sha256:abc")),
    ("quay.io/org/app:v1@sha256:abc", ("quay.io/org/app", "v1", "sha256:abc")),
])
def test_image_references_are_normalised_as_the_runtime_resolves_them(
        ref: str, normal: tuple[str, str | None, str | None]) -> None:
    from cnsec.vulns.risk import normalize

    assert normalize(ref) == normal


def test_a_workload_that_names_its_image_by_digest_runs_the_oci_image_with_that_manifest_digest(
        site: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    shutil.rmtree(site["images"] / "cache")
    _, digest = oci_layout(site["images"] / "cache", "docker.io/shop/cache:6.0", REDIS)
    cache = site["deploy"] / "cache.yaml"
    cache.write_text(cache.read_text().replace("image: shop/cache:6.0", f"image: registry.local/cache@{digest}"))
    _, report = _assess(site, capsys)
    assert ("Deployment/shop/cache", "DSA-5081-1") in _vulns(report)


def test_a_workload_mounting_a_cluster_admin_service_account_token_counts_that_as_a_privilege(
        site: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    (site["deploy"] / "rbac.yaml").write_text("""apiVersion: v1
kind: ServiceAccount
metadata: {name: ops, namespace: shop}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ops-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: ops, namespace: shop}]
""")
    web = site["deploy"] / "web.yaml"
    text = web.read_text()
    web.write_text(text.replace("      containers:\n", "      serviceAccountName: ops\n      containers:\n", 1))
    _, report = _assess(site, capsys)
    on_web = _vulns(report)[("Deployment/shop/web", "DSA-4982-1")]
    assert "powerful service-account token" in on_web["privileges"]


def _finding(severity: str, **attrs: Any) -> Any:
    from cnsec.model.finding import Finding
    from cnsec.model.severity import Severity
    from cnsec.model.source import Source

    return Finding("x", "DSA-1", "t", Severity.parse(severity), "a", Source("f"), "m", attrs=attrs)


def test_exploitability_rises_with_a_published_fix_known_exploitation_epss_and_each_privilege() -> None:
    from cnsec.vulns.risk import exploitability

    no_fix, _ = exploitability(_finding("high"), [])
    fixed, _ = exploitability(_finding("high", fixed_version="2"), [])
    kev, _ = exploitability(_finding("high", fixed_version="2", kev={"cve": "CVE-1"}), [])
    epss, _ = exploitability(_finding("high", fixed_version="2", epss={"score": 0.5}), [])
    root, why = exploitability(_finding("high", fixed_version="2"), ["runs as root"])
    both, _ = exploitability(_finding("high", fixed_version="2"), ["runs as root", "host mounts"])
    assert (no_fix, fixed, kev, epss, root, both) == (0.56, 0.7, 0.95, 0.85, 0.775, 0.831)
    assert why == "high 0.70 + runs as root = 0.775"


def test_assess_cluster_with_images_joins_them_to_the_live_workloads(
        site: dict[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The same join against a live cluster: the recorded cluster of the deploy manifests, served on
    loopback and read through the real kubernetes client."""
    pytest.importorskip("kubernetes")
    from tests.k8s.live.apiserver import ApiServer, from_manifests

    cluster = from_manifests(sorted(site["deploy"].glob("*.yaml")))
    with ApiServer(cluster) as server:
        kubeconfig = server.kubeconfig(tmp_path / "kubeconfig", context="shop-prod")
        code = main(["assess", "--cluster", "--kubeconfig", str(kubeconfig), "--images", str(site["images"]),
                     "--db", str(site["db"]), "-f", "json", "--fail-on", "none"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    on_web = _vulns(report)[("Deployment/shop/web", "DSA-4982-1")]
    assert on_web["source"] == {"file": "cluster://shop-prod/shop/Deployment/web", "line": None}
    assert {a for a, _ in _vulns(report)} >= {"Deployment/shop/web", "Deployment/shop/web-admin",
                                              "Deployment/shop/cache", "Image/shop/web:1.0"}
    assert any(p["title"] == "upgrade apache2 to 2.4.51-1~deb11u1 in image shop/web:1.0" for p in report["plan"])


def test_a_workload_image_given_by_a_digest_no_image_has_says_which_image_of_that_repository_was_given(
        site: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    web = site["deploy"] / "web.yaml"
    web.write_text(web.read_text().replace("image: shop/web:1.0", "image: shop/web@sha256:" + "ab" * 32))
    _, report = _assess(site, capsys)
    [hint] = [s["message"] for s in report["skipped"] if s["message"].startswith("Deployment/shop/web:")]
    assert "an image of docker.io/shop/web was given, but not with this digest" in hint
    assert ("Deployment/shop/web", "DSA-4982-1") not in _vulns(report)


def test_a_damaged_image_is_reported_and_the_others_are_still_joined(
        site: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    good = (site["images"] / "web.tar").read_bytes()
    (site["images"] / "broken.tar").write_bytes(good[: len(good) // 3])
    _, report = _assess(site, capsys)
    assert [e["message"] for e in report["errors"] if e["file"].endswith("broken.tar")] == [
        "not a readable image (no manifest.json or oci-layout in it: damaged or truncated?); not read"]
    assert ("Deployment/shop/web", "DSA-4982-1") in _vulns(report)
