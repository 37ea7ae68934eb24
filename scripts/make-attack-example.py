"""Build examples/attack/: one afternoon of a shop under attack, as the real formats.

    .venv/bin/python scripts/make-attack-example.py       # rewrites examples/attack/{audit.log,...}

* audit.log and cloudtrail.jsonl: recorded Stratus Red Team detonations (tests/detect/data/stratus/
  cases.json — upstream, commit and the changes made to the records are in its SOURCES.md), their
  timestamps moved onto one timeline on 5 January 2026 from 14:00 UTC;
* access.log: generated (tests/detect/correlate/telemetry.py, seed 7): ordinary shoppers, and at 14:20
  a SQL injection burst from one address whose dump comes back ten minutes later.

Deterministic: running it twice gives the same bytes.
"""

from __future__ import annotations

import json
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.detect.correlate import telemetry  # noqa: E402

OUT = REPO / "examples" / "attack"
T0 = datetime(2026, 1, 5, 14, 0, tzinfo=UTC)

#: the story, in order: (Stratus technique, minutes after T0)
CLOUD = [
    ("aws.initial-access.console-login-without-mfa", 2),
    ("aws.defense-evasion.cloudtrail-stop", 5),
    ("aws.persistence.iam-create-admin-user", 8),
    ("aws.credential-access.secretsmanager-retrieve-secrets", 12),
    ("aws.exfiltration.s3-backdoor-bucket-policy", 15),
]
CLUSTER = [
    ("k8s.credential-access.steal-serviceaccount-token", 3),
    ("k8s.persistence.create-admin-clusterrole", 6),
    ("k8s.privilege-escalation.privileged-pod", 9),
    ("k8s.privilege-escalation.hostpath-volume", 11),
    ("k8s.credential-access.dump-secrets", 14),
]


def _stamp(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _retime(record: dict[str, object], minutes: float) -> dict[str, object]:
    """The record with every timestamp field it has moved to ``minutes`` after T0."""
    out = dict(record)
    for field in ("eventTime", "requestReceivedTimestamp", "stageTimestamp"):
        if field in out:
            out[field] = _stamp(minutes) if field != "eventTime" else _stamp(minutes)[:19] + "Z"
    meta = out.get("metadata")
    if isinstance(meta, dict) and "creationTimestamp" in meta:
        out["metadata"] = {**meta, "creationTimestamp": _stamp(minutes)[:19] + "Z"}
    return out


def _records(story: list[tuple[str, int]]) -> list[str]:
    cases = {c["technique"]: c for c in json.loads(
        (REPO / "tests/detect/data/stratus/cases.json").read_text())["cases"]}
    lines = []
    for technique, minute in story:
        for i, record in enumerate(cases[technique]["detonation"]):
            lines.append(json.dumps(_retime(record, minute + i / 60), sort_keys=True))
    return lines


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "audit.log").write_text("".join(f"{x}\n" for x in _records(CLUSTER)))
    (OUT / "cloudtrail.jsonl").write_text("".join(f"{x}\n" for x in _records(CLOUD)))
    rng = random.Random(7)
    start = int(T0.timestamp())
    lines = telemetry.access_combined(rng, start, start + 3600, per_min=20)
    lines += telemetry.sqli_attack(rng, start + 20 * 60)
    telemetry.write(OUT / "access.log", lines)


if __name__ == "__main__":
    main()
