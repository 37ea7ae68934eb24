"""OSV records and indexes the tests generate themselves."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any


def record(vid: str, eco: str, name: str, events: list[dict[str, str]], *, versions: list[str] | None = None,
           aliases: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    affected: dict[str, Any] = {"package": {"ecosystem": eco, "name": name},
                                "ranges": [{"type": "ECOSYSTEM", "events": events}]}
    if versions is not None:
        affected["versions"] = versions
    return {"id": vid, "modified": "2024-01-01T00:00:00Z", "aliases": aliases or [], "summary": f"{vid} summary",
            "affected": [affected], **extra}


def write_zip(path: Path, records: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for r in records:
            zf.writestr(f"{r['id']}.json", json.dumps(r, indent=2))
    return path


DEFAULT_RECORDS = [
    record("PYSEC-2099-1", "PyPI", "Demo_Pkg", [{"introduced": "0"}, {"fixed": "2.0.1"}],
           aliases=["CVE-2099-0001", "GHSA-aaaa-bbbb-cccc"],
           severity=[{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]),
    record("GHSA-aaaa-bbbb-cccc", "PyPI", "demo-pkg", [{"introduced": "1.0"}, {"fixed": "2.0.1"}],
           aliases=["CVE-2099-0001"], database_specific={"severity": "MODERATE"}),
    record("PYSEC-2099-2", "PyPI", "other", [{"introduced": "1.0"}, {"last_affected": "1.4"}],
           database_specific={"severity": "LOW"}),
    record("PYSEC-2099-3", "PyPI", "demo-pkg", [{"introduced": "0"}], withdrawn="2024-02-01T00:00:00Z"),
    record("GO-2099-1", "Go", "example.com/mod", [{"introduced": "0"}, {"fixed": "1.6.0"}]),
]


def build_index(tmp: Path, records: list[dict[str, Any]] | None = None) -> Path:
    from cnsec.vulns.index import build

    src = write_zip(tmp / "osv" / "all.zip", DEFAULT_RECORDS if records is None else records)
    db = tmp / "data" / "vulns.db"
    build([src.parent], db)
    return db
