"""The built wheel, installed in a fresh virtual environment, runs every pillar: what `pip install cnsec`
gives a user, not the source tree (a rules file, a migration or a playbook left out of the wheel, or a
dependency used but not declared, fails here and nowhere else).

Offline and in seconds: the wheel is built without build isolation (hatchling from the dev extra) and
installed with ``--no-index --no-deps``; its dependencies come from this interpreter's environment,
but only the ones the wheel declares (and theirs, resolved from their metadata), linked into a folder
the fresh environment reads through a ``.pth`` file. Nothing else of this environment is visible.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.vulns.helpers import DEFAULT_RECORDS, write_zip

REPO = Path(__file__).resolve().parents[1]
SHOP = REPO / "examples" / "shop"
AUDIT_LOG = REPO / "tests" / "detect" / "data" / "managed" / "gke-panther.jsonl"

pytestmark = pytest.mark.wheel


def _top_level(dist: md.Distribution) -> set[str]:
    """The names a distribution puts into site-packages (packages, modules, .libs folders, dist-info)."""
    names = set()
    for f in dist.files or ():
        first = f.parts[0]
        if first not in ("..", "bin", "__pycache__") and not first.endswith(".pth"):
            names.add(first)
    return names


def declared_closure(requirements: list[str]) -> dict[str, md.Distribution]:
    """The distributions ``requirements`` need, transitively, with the extras they ask for."""
    seen: dict[str, md.Distribution] = {}
    todo = [(Requirement(r), "") for r in requirements]
    while todo:
        req, extra = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": extra}):
            continue
        dist = md.distribution(req.name)
        key = dist.metadata["Name"].lower().replace("_", "-")
        wanted = set(req.extras)
        if key in seen and not wanted:
            continue
        seen[key] = dist
        for line in dist.requires or ():
            sub = Requirement(line)
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in ("", *wanted)):
                todo.append((sub, next((e for e in wanted if sub.marker and sub.marker.evaluate({"extra": e})), "")))
    return seen


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    started = time.monotonic()
    root = tmp_path_factory.mktemp("wheel")
    dist_dir = root / "dist"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                            "-q", "-w", str(dist_dir), str(REPO)], capture_output=True, text=True, timeout=300)
    if build.returncode != 0 and "hatchling" in build.stderr:
        pytest.skip("hatchling is not installed (pip install -e '.[dev]'): the wheel cannot be built offline")
    assert build.returncode == 0, build.stderr
    wheel = next(dist_dir.glob("cnsec-*.whl"))
    env_dir = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True, timeout=120)
    python = env_dir / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-index", "--no-deps",
                    "-q", str(wheel)], check=True, timeout=300)
    # the wheel's own dependencies, and only those, from this environment
    requires = [r for r in md.Distribution.at(next(
        (env_dir / "lib").glob("python*/site-packages/cnsec-*.dist-info"))).requires or ()
        if "extra ==" not in r]
    deps = root / "deps"
    deps.mkdir()
    site = Path(sysconfig.get_paths()["purelib"])
    for dist in declared_closure(requires).values():
        for name in _top_level(dist):
            source = Path(str(dist.locate_file(name)))
            if source.exists() and not (deps / name).exists():
                (deps / name).symlink_to(source)
    assert site.exists()
    target_site = next((env_dir / "lib").glob("python*/site-packages"))
    (target_site / "_cnsec_test_deps.pth").write_text(f"{deps}\n")
    print(f"wheel built and installed in a fresh venv in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return env_dir


def cnsec(venv: Path, *argv: str, cwd: Path, stdin: bytes | None = None,
          env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "CNSEC_", "VIRTUAL_ENV"))}
    return subprocess.run([str(venv / "bin" / "cnsec"), *argv], cwd=cwd, capture_output=True, timeout=300,
                          input=stdin.decode() if stdin is not None else None, text=True,
                          env={**clean, "HOME": str(cwd), "XDG_DATA_HOME": str(cwd / "data"),
                               "XDG_STATE_HOME": str(cwd / "state"), **(env or {})})


def test_the_installed_cnsec_is_the_wheel_not_the_source_tree(venv: Path, tmp_path: Path) -> None:
    python = venv / "bin" / "python"
    where = subprocess.run([str(python), "-c", "import cnsec; print(cnsec.__file__)"], cwd=tmp_path,
                           capture_output=True, text=True, env={"PATH": os.environ.get("PATH", "")}, check=True)
    assert where.stdout.startswith(str(venv)), where.stdout
    out = cnsec(venv, "--version", cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.startswith("cnsec ")


def test_the_wheel_assesses_a_project(venv: Path, tmp_path: Path) -> None:
    out = cnsec(venv, "assess", str(SHOP), "-f", "json", "--fail-on", "none", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["summary"]["findings"] > 50 and report["plan"]


def test_the_wheel_runs_the_iam_store_and_the_rbac_audit(venv: Path, tmp_path: Path) -> None:
    db = {"CNSEC_DB": f"sqlite:///{tmp_path / 'iam.db'}"}
    assert cnsec(venv, "iam", "init", cwd=tmp_path, env=db).returncode == 0  # the migrations are in the wheel
    add = cnsec(venv, "iam", "users", "add", "mary", "--password-stdin", cwd=tmp_path, env=db,
                stdin=b"correct horse battery staple 42\n")
    assert add.returncode == 0, add.stderr
    audit = cnsec(venv, "iam", "audit", str(SHOP), "-f", "sarif", "--fail-on", "none", cwd=tmp_path)
    assert audit.returncode == 0 and json.loads(audit.stdout)["runs"][0]["results"]


def test_the_wheel_scans_for_secrets_and_encrypts(venv: Path, tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "settings.py").write_text('AWS_ACCESS_KEY_ID = "AKIA' + "QYLPMN5HHHFPZAM2" + '"\n')
    scan = cnsec(venv, "data", "scan", str(tmp_path / "app"), "-f", "json", "--fail-on", "none", cwd=tmp_path)
    assert scan.returncode == 0, scan.stderr
    assert json.loads(scan.stdout)["findings"]
    assert cnsec(venv, "data", "--help", cwd=tmp_path).returncode == 0


def test_the_wheel_detects_and_responds_with_its_bundled_rules_and_playbook(venv: Path, tmp_path: Path) -> None:
    detect = cnsec(venv, "detect", str(AUDIT_LOG), "-f", "jsonl", "--fail-on", "none", cwd=tmp_path)
    assert detect.returncode == 0, detect.stderr
    assert "CNSEC-DET-K8S-001" in detect.stdout
    (tmp_path / "alerts.jsonl").write_text(detect.stdout)
    respond = cnsec(venv, "respond", str(tmp_path / "alerts.jsonl"), "--audit-log", str(tmp_path / "audit.jsonl"),
                    cwd=tmp_path)
    assert respond.returncode == 0, respond.stderr
    assert "dry run" in respond.stdout and "matched a playbook rule" in respond.stdout
    assert cnsec(venv, "rules", "test", cwd=tmp_path).returncode == 0


def test_the_wheel_builds_a_vulnerability_index_and_scans_a_lockfile(venv: Path, tmp_path: Path) -> None:
    write_zip(tmp_path / "osv" / "all.zip", DEFAULT_RECORDS)
    assert cnsec(venv, "vulndb", "build", str(tmp_path / "osv"), "--db", "v.db", cwd=tmp_path).returncode == 0
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "requirements.txt").write_text("demo-pkg==1.5\n")
    out = cnsec(venv, "vulns", "proj", "--db", "v.db", "-f", "junit", "--fail-on", "none", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "PYSEC-2099-1" in out.stdout
