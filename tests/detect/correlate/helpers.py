from __future__ import annotations

from typing import Any

from cnsec.detect.correlate.catalog import Catalog, load_catalog_text
from cnsec.detect.correlate.runner import Correlator

T = 1_767_225_600.0  # aligned to every window size used here


def catalog(text: str, max_keys: int = 1000) -> Catalog:
    return load_catalog_text(text, "test.yaml", max_keys)


def correlator(text: str, max_keys: int = 1000) -> Correlator:
    return Correlator(catalog(text, max_keys))


def access(ts: float, ip: str = "10.0.0.1", **kw: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {"_ts": ts, "_kind": "access", "src_ip": ip, "status": 200, "bytes": 1000,
                           "service": "web", "path": "/", "url": "/"}
    rec.update(kw)
    return rec


def metric(ts: float, name: str, value: float, **labels: Any) -> dict[str, Any]:
    return {"_ts": ts, "_kind": "metric", "__name__": name, name: value, **labels}


def feed(c: Correlator, records: list[dict[str, Any]]) -> list[Any]:
    for r in sorted(records, key=lambda r: r["_ts"]):
        c.feed(r)
    c.finish()
    return c.alerts()
