from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from tests.detect.correlate import telemetry as tm


@pytest.fixture(scope="session")
def dos_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two hours of normal traffic on web and api, then a 15-minute flood of web from 60 sources."""
    d = tmp_path_factory.mktemp("dos")
    rng = random.Random(7)
    start, attack = tm.T0 + 9 * 3600, (tm.T0 + 11 * 3600, tm.T0 + 11 * 3600 + 900)
    end = attack[1] + 1800
    m = tm.write(d / "metrics.jsonl", tm.metrics(rng, start, end, attack=attack))
    a = tm.write(d / "access.log", tm.access_json(rng, start, end) + tm.dos_access(rng, *attack))
    return [m, a]


@pytest.fixture(scope="session")
def sqli_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    d = tmp_path_factory.mktemp("sqli")
    rng = random.Random(11)
    start = tm.T0 + 9 * 3600
    lines = tm.access_combined(rng, start, start + 3 * 3600) + tm.sqli_attack(rng, start + 2 * 3600 + 100)
    return [tm.write(d / "access.log", lines)]


@pytest.fixture(scope="session")
def spray_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    d = tmp_path_factory.mktemp("spray")
    rng = random.Random(13)
    start = tm.T0
    entries = tm.iam_entries(rng, start, start + 86400) + tm.spray_attack(start + 13 * 3600 + 42)
    entries.sort(key=lambda e: float(e["ts"]))  # type: ignore[arg-type]
    p = d / "iam-audit.jsonl"
    p.write_text("".join(json.dumps(e) + "\n" for e in entries), encoding="utf-8")
    return [p]


@pytest.fixture(scope="session")
def benign_week(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Seven days of ordinary traffic with daily seasonality on every supported source."""
    d = tmp_path_factory.mktemp("week")
    rng = random.Random(3)
    start, end = tm.T0, tm.T0 + 7 * 86400
    iam = d / "iam.json"
    iam.write_text(json.dumps(tm.iam_entries(rng, start, end), indent=2), encoding="utf-8")
    return [
        tm.write(d / "metrics.jsonl", tm.metrics(rng, start, end, step=15)),
        tm.write(d / "access.json.log", tm.access_json(rng, start, end, per_min=10)),
        tm.write(d / "access.combined.log", tm.access_combined(rng, start, end, per_min=4, n_clients=60)),
        tm.write(d / "queries.jsonl", tm.app_queries(rng, start, end)),
        iam,
    ]


@pytest.fixture(scope="session")
def dos_result(dos_files: list[Path]) -> Any:
    from cnsec.detect.correlate.run import run

    return run([str(p) for p in dos_files])
