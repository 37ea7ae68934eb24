"""Finding and asset ids survive `cd`: a baseline or suppression written from one directory keeps
matching when the same project is assessed from another, or as several sub-folders."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cnsec.cli import main

SHOP = Path(__file__).resolve().parents[2] / "examples" / "shop"


def _ids(capsys: pytest.CaptureFixture[str], *targets: str) -> tuple[set[str], dict[str, object]]:
    main(["assess", *targets, "-f", "json", "--fail-on", "none"])
    data = json.loads(capsys.readouterr().out)
    return {f["id"] for f in data["findings"]}, data


@pytest.mark.parametrize("in_a_repository", [True, False])
def test_the_same_project_gives_the_same_finding_ids_from_any_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        in_a_repository: bool) -> None:
    project = tmp_path / "work" / "shop"
    shutil.copytree(SHOP, project)
    if in_a_repository:
        (tmp_path / "work" / ".git").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    whole, data = _ids(capsys, "shop")
    assert len(whole) > 50 and any(i for i in data["assets"] if str(i["id"]).startswith("Image/"))  # type: ignore[index]
    monkeypatch.chdir(project)
    assert _ids(capsys, ".")[0] == whole
    monkeypatch.chdir(project / "k8s")
    assert _ids(capsys, ".", "../terraform", "../services")[0] == whole
    monkeypatch.chdir(tmp_path)
    assert _ids(capsys, "work/shop/k8s", "work/shop/terraform", "work/shop/services")[0] == whole


def test_dockerfile_assets_are_named_from_the_repository_root(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".git").mkdir()
    shutil.copytree(SHOP, tmp_path / "apps" / "shop")
    monkeypatch.chdir(tmp_path / "apps" / "shop" / "services")
    _, data = _ids(capsys, "api")
    assert {a["id"] for a in data["assets"]} == {"Image/apps/shop/services/api/Dockerfile"}  # type: ignore[index]
    assert data["config"] is not None and str(data["config"]).endswith("apps/shop/.cnsec.yaml")
