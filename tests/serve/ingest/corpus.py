"""Real Kubernetes audit events (Falco's k8s-audit test traces, ../shared/corpora/detect; SOURCES.md
there), varied so that many distinct events exist: ids, times and client addresses made unique."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
import pytest

CORPUS = (Path(__file__).resolve().parents[3] / "../shared/corpora/detect/logs/falco-k8s-audit-traces").resolve()


def samples() -> list[dict[str, Any]]:
    if not CORPUS.is_dir():
        pytest.skip(f"corpus absent: {CORPUS}")
    out = []
    for f in sorted(CORPUS.glob("*.json")):
        if f.name.startswith("_"):
            continue
        out.extend(orjson.loads(line) for line in f.read_bytes().splitlines() if line.strip())
    return out


def varied(n: int, start: int = 0) -> list[dict[str, Any]]:
    base = samples()
    out = []
    for i in range(start, start + n):
        e = dict(base[i % len(base)])
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1767225600 + i // 10)) + f".{i % 1000:03d}000Z"
        e["auditID"] = f"{i:08x}-0000-4000-8000-{i:012x}"
        e["stageTimestamp"] = e["requestReceivedTimestamp"] = ts
        e["sourceIPs"] = [f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"]
        out.append(e)
    return out


def batches(events: list[dict[str, Any]], size: int = 400) -> list[dict[str, Any]]:
    return [{"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": events[i:i + size]}
            for i in range(0, len(events), size)]


def expected_alerts(event_batches: list[dict[str, Any]]) -> dict[str, tuple[int, float, float]]:
    """What one Detector (as `cnsec detect` loads) makes of these batches fed in order: id -> (count,
    first seen, last seen), the alert updates folded by id (no flush: the server keeps windows open)."""
    from cnsec.detect import Detector

    det = Detector.load(rules=[], default_rules=True, correlate=True)
    out: dict[str, tuple[int, float, float]] = {}
    for b in event_batches:
        for a in det.feed([orjson.dumps(e) for e in b["items"]], source="k8s-audit"):
            out[a.id] = (a.count, a.first_seen, a.last_seen)
    return out
