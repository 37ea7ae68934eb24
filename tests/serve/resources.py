"""Helpers for the resource tests: tarballs made from real example folders, uploaded and waited for."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from cnsec.serve.context import ServeContext
from cnsec.serve.services import assessments
from tests.serve.conftest import bearer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def tarball(folder: Path, arcname: str = "project") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(folder, arcname=arcname)
    return buf.getvalue()


def upload(client: TestClient, ctx: ServeContext, token: str, data: bytes, target: str = "shop") -> dict[str, Any]:
    """POST the tarball, wait for the worker, return the finished assessment."""
    r = client.post("/v1/assessments", headers=bearer(token), data={"target": target},
                    files={"file": ("project.tgz", data, "application/gzip")})
    assert r.status_code == 202, r.text
    done = assessments.wait(ctx, r.json()["id"])
    assert done["status"] == "done", done
    return done


def all_findings(client: TestClient, token: str, **params: Any) -> list[dict[str, Any]]:
    """Every page of the findings list."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        r = client.get("/v1/findings", headers=bearer(token),
                       params={**params, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        cursor = r.json()["next"]
        if cursor is None:
            return items
