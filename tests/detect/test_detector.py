"""The engine as a library (:class:`cnsec.detect.Detector`) held to ``cnsec detect`` on the real corpora:
the same alerts, ids that survive splits, restarts and redelivery, and poison lines that stay problems."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cnsec.cli import main
from cnsec.detect import Detector
from cnsec.detect.alerts import alert_dict
from cnsec.detect.sources import expand_inputs, iter_lines, open_binary
from cnsec.model.event import Alert

CORPUS = Path(__file__).resolve().parents[2] / "../shared/corpora/detect"
LOGS = CORPUS / "logs"
SIGMA = CORPUS / "sigma-rules"


def _corpus() -> Path:
    if not LOGS.is_dir():
        pytest.skip(f"detect corpus not found at {LOGS}")
    return LOGS.resolve()


def _items(path: str) -> list[bytes]:
    """A file's lines as ``cnsec detect`` reads them (a pretty-printed document: one item)."""
    with open_binary(path) as stream:
        return [raw for _n, raw in iter_lines(stream)]


@pytest.fixture(scope="module")
def stream_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every real event of the corpus in one JSON-lines file, in corpus order (times go back and forth
    between the traces: the reorder buffer and late records are exercised too). Panther's labelled
    tests hold their event under ``log``."""
    logs = _corpus()
    out: list[bytes] = []
    for path in expand_inputs([str(logs)]):
        if not path.endswith((".json", ".jsonl")):
            continue
        for raw in _items(path):
            try:
                obj = json.loads(raw)
            except ValueError:
                continue
            if isinstance(obj, dict) and isinstance(obj.get("log"), dict):
                obj = obj["log"]
            events = obj.get("Records", [obj]) if isinstance(obj, dict) else obj
            out += [json.dumps(e).encode() + b"\n" for e in events if isinstance(e, dict)]
    f = tmp_path_factory.mktemp("stream") / "events.jsonl"
    f.write_bytes(b"".join(out))
    return f


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    main(["detect", *args, "--fail-on", "none"])
    out = capsys.readouterr().out
    if "-f" in args and args[args.index("-f") + 1] == "jsonl":
        return [json.loads(x) for x in out.splitlines()]
    return list(json.loads(out)["alerts"])


def _fold(updates: list[Alert]) -> dict[str, Alert]:
    final: dict[str, Alert] = {}
    for a in updates:
        final[a.id] = a
    return final


def _rows(alerts: dict[str, Alert] | list[Alert]) -> list[dict[str, Any]]:
    """As ``cnsec detect -f json`` lists them: its order and its shape."""
    every = list(alerts.values()) if isinstance(alerts, dict) else alerts
    every.sort(key=lambda a: (a.first_seen, -int(a.severity), a.rule_id, a.key))
    return [json.loads(json.dumps(alert_dict(a))) for a in every]


def _jsonl_order(rows: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(r, sort_keys=True) for r in rows)


def _run(det: Detector, batches: Iterator[tuple[str, list[bytes]]]) -> list[Alert]:
    updates: list[Alert] = []
    for name, lines in batches:
        updates += det.feed(lines, name=name)
    return updates + det.flush()


def _batches(lines: list[bytes], size: int, name: str = "events.jsonl") -> Iterator[tuple[str, list[bytes]]]:
    for i in range(0, len(lines), size):
        yield name, lines[i:i + size]


def test_folding_the_updates_by_id_gives_exactly_the_alerts_cnsec_detect_prints_for_the_whole_corpus(
        capsys: pytest.CaptureFixture[str]) -> None:
    logs = _corpus()
    inputs = expand_inputs([str(logs)])
    det = Detector.load(rules=[str(SIGMA)])
    updates = _run(det, ((p, _items(p)) for p in inputs))
    assert len(updates) > len(_fold(updates)) > 20  # counts grew: updates repeat ids
    mine = _rows(_fold(updates))
    assert mine == _cli([str(logs), "--rules", str(SIGMA), "-f", "json"], capsys)
    assert _jsonl_order(mine) == _jsonl_order(_cli([str(logs), "--rules", str(SIGMA), "-f", "jsonl"], capsys))


def test_batches_of_any_size_give_the_alerts_of_cnsec_detect_on_one_stream(
        stream_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = stream_file.read_bytes().splitlines(keepends=True)
    want = _cli([str(stream_file), "--rules", str(SIGMA), "-f", "json"], capsys)
    assert len(want) > 40
    for size in (1, 7, 400, len(lines)):
        det = Detector.load(rules=[str(SIGMA)])
        assert _rows(_fold(_run(det, _batches(lines, size, str(stream_file))))) == want, size


def test_an_alert_id_depends_on_rule_key_and_window_start_only() -> None:
    a = Alert("R", "t", 0, None, "user=a", 10.0, 20.0, opened=10.0)  # type: ignore[arg-type]
    b = Alert("R", "other title", 3, "x", "user=a", 5.0, 99.0, count=7, opened=10.0)  # type: ignore[arg-type]
    assert a.id == b.id and len(a.id) == 32
    assert Alert("R", "t", 0, None, "user=b", 10.0, 20.0, opened=10.0).id != a.id  # type: ignore[arg-type]
    assert Alert("S", "t", 0, None, "user=a", 10.0, 20.0, opened=10.0).id != a.id  # type: ignore[arg-type]
    assert Alert("R", "t", 0, None, "user=a", 10.0, 20.0, opened=11.0).id != a.id  # type: ignore[arg-type]


def _split_run(lines: list[bytes], at: int, name: str, **load: Any) -> list[Alert]:
    first = Detector.load(**load)
    updates = first.feed(lines[:at], name=name)
    blob = first.snapshot()
    second = Detector.load(**load)
    second.restore(blob)
    assert second.snapshot() == blob  # restore takes up exactly what was saved
    return updates + second.feed(lines[at:], name=name) + second.flush()


@pytest.mark.parametrize("close_every", [2000, 3])
def test_a_stream_split_anywhere_and_restored_from_a_snapshot_ends_with_the_alerts_of_one_pass(
        stream_file: Path, close_every: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Also with alerts closed every 3 hits (as every 2000 on a large input): the hit count and the
    point of the next close are state too."""
    monkeypatch.setattr("cnsec.detect.detector.CLOSE_EVERY", close_every)
    lines = stream_file.read_bytes().splitlines(keepends=True)
    name = str(stream_file)
    det = Detector.load(rules=[str(SIGMA)])
    whole = _rows(_fold(_run(det, _batches(lines, len(lines), name))))
    step = max(1, len(lines) // 15)
    for at in [0, 1, 2, *range(3, len(lines), step), len(lines) - 1, len(lines)]:
        assert _rows(_fold(_split_run(lines, at, name, rules=[str(SIGMA)]))) == whole, at


def test_feeding_events_again_after_restoring_a_snapshot_taken_before_them_gives_the_same_alert_ids(
        stream_file: Path) -> None:
    lines = stream_file.read_bytes().splitlines(keepends=True)
    half = len(lines) // 2
    det = Detector.load()
    det.feed(lines[:half])
    blob = det.snapshot()
    first = det.feed(lines[half:])
    again = Detector.load()
    again.restore(blob)
    second = again.feed(lines[half:])
    assert first and [(a.id, a.count) for a in first] == [(a.id, a.count) for a in second]
    assert _rows(_fold(first + det.flush())) == _rows(_fold(second + again.flush()))


def test_two_detectors_fed_the_same_events_take_the_same_snapshot(stream_file: Path) -> None:
    lines = stream_file.read_bytes().splitlines(keepends=True)
    blobs = []
    for size in (50, 333):
        det = Detector.load(correlate=True)
        for _name, batch in _batches(lines, size):
            det.feed(batch)
        blobs.append(det.snapshot())
    assert blobs[0] == blobs[1]


SNAPSHOT_SCRIPT = """
import hashlib, sys
from cnsec.detect import Detector
lines = open(sys.argv[1], "rb").read().splitlines(keepends=True)
det = Detector.load(correlate=True)
ids = [a.id for a in det.feed(lines)]
print(hashlib.sha256(det.snapshot()).hexdigest(), hashlib.sha256(" ".join(ids).encode()).hexdigest())
"""


def test_snapshots_and_alert_ids_are_the_same_bytes_in_processes_with_other_hash_seeds(stream_file: Path) -> None:
    import os
    import subprocess
    import sys

    outs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run([sys.executable, "-c", SNAPSHOT_SCRIPT, str(stream_file)], env=env,
                             capture_output=True, text=True, check=True)
        outs.add(run.stdout)
    assert len(outs) == 1


# -- correlation -----------------------------------------------------------------------------------
def test_threat_alerts_folded_by_id_are_those_cnsec_detect_threats_prints_for_one_input(
        stream_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logs = _corpus()
    files = [stream_file, logs / "otrf-security-datasets/ec2_proxy_s3_exfiltration_2020-09-14011940.json",
             logs / "falco-k8s-audit-traces/attach_cluster_admin_role.json"]
    seen = 0
    for f in files:
        want = _cli([str(f), "--threats", "-f", "json"], capsys)
        det = Detector.load(correlate=True)
        updates = _run(det, _batches(_items(str(f)), 25, str(f)))
        threats = [a for a in updates if det.is_threat(a)]
        assert _rows(_fold(threats)) == want, f
        # and the detection alerts beside them are cnsec detect's
        assert _rows(_fold([a for a in updates if not det.is_threat(a)])) == _cli([str(f), "-f", "json"], capsys)
        seen += len(want)
    assert seen >= 3


def test_correlation_split_anywhere_and_restored_ends_with_the_threat_alerts_of_one_pass(
        stream_file: Path) -> None:
    lines = stream_file.read_bytes().splitlines(keepends=True)
    det = Detector.load(correlate=True)
    whole = _run(det, _batches(lines, len(lines), "<stream>"))
    threats = _rows(_fold([a for a in whole if det.is_threat(a)]))
    assert threats
    step = max(1, len(lines) // 25)
    for at in [1, *range(2, len(lines), step), len(lines)]:
        split = _split_run(lines, at, "<stream>", correlate=True)
        assert _rows(_fold(split)) == _rows(_fold(whole)), at


# -- poison ----------------------------------------------------------------------------------------
EXEC = {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": "1", "verb": "create",
        "user": {"username": "alice"}, "sourceIPs": ["10.0.0.7"],
        "objectRef": {"resource": "pods", "subresource": "exec", "namespace": "default", "name": "web"},
        "responseStatus": {"code": 101}, "stageTimestamp": "2026-01-05T10:00:00Z"}

RAISING_RULE = '''
from cnsec.detect.rules.pyrules import PythonRule

def boom(e):
    if e.get("auditID") == "poison":
        return 1 / 0
    return False

RULE = PythonRule(id="TEST-RAISES", title="raises on one event", severity="high", source="k8s-audit",
                  match=boom)
'''


def test_a_poison_line_becomes_a_named_problem_and_the_feed_goes_on(tmp_path: Path) -> None:
    (tmp_path / "raises.py").write_text(RAISING_RULE)
    det = Detector.load(rules=[str(tmp_path)])
    good = json.dumps(EXEC).encode()
    poison = json.dumps(dict(EXEC, auditID="poison")).encode()
    lines = [good, b'{"kind": "Event", "verb": ', b"[" * 100_000, b"{" * 50_000, poison, good]
    updates = det.feed(lines, name="audit.log")
    problems = {p.line: p.message for p in det.problems}
    assert set(problems) == {2, 3, 4, 5}
    assert "malformed JSON" in problems[2]
    assert problems[5] == "rule TEST-RAISES raised ZeroDivisionError on this event (counted as not matching)"
    assert all(p.file == "audit.log" for p in det.problems)
    # the poison event still made its other alerts, and the line after it was read
    exec_alert = _fold(updates + det.flush())
    (alert,) = [a for a in exec_alert.values() if a.rule_id == "CNSEC-DET-K8S-009"]
    assert alert.count == 3
    assert [e["origin"] for e in alert.evidence] == ["audit.log:1", "audit.log:5", "audit.log:6"]


def test_problems_are_those_of_the_last_call_only() -> None:
    det = Detector.load()
    det.feed([b"not json"])
    assert len(det.problems) == 1
    det.feed([json.dumps(EXEC).encode()])
    assert det.problems == []


def test_a_snapshot_from_other_rules_or_damaged_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    from cnsec.detect import SnapshotError

    (tmp_path / "raises.py").write_text(RAISING_RULE)
    blob = Detector.load().snapshot()
    with pytest.raises(SnapshotError, match="other rules"):
        Detector.load(rules=[str(tmp_path)]).restore(blob)
    with pytest.raises(SnapshotError, match="not a detector snapshot"):
        Detector.load().restore(b"garbage")
    with pytest.raises(SnapshotError, match="damaged"):
        Detector.load().restore(blob[:-5])


def test_cnsec_detect_reports_a_rule_that_raises_and_reads_the_rest(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "raises.py").write_text(RAISING_RULE)
    log = tmp_path / "audit.log"
    log.write_text("".join(json.dumps(e) + "\n" for e in (EXEC, dict(EXEC, auditID="poison"), EXEC)))
    code = main(["detect", str(log), "--rules", str(tmp_path / "raises.py"), "-f", "json", "--fail-on", "none"])
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert code == 0
    (alert,) = [a for a in doc["alerts"] if a["rule_id"] == "CNSEC-DET-K8S-009"]
    assert alert["count"] == 3
    assert doc["errors"] == [{"file": str(log), "line": 2, "message":
                              "rule TEST-RAISES raised ZeroDivisionError on this event (counted as not matching)"}]
    assert "rule TEST-RAISES raised ZeroDivisionError" in captured.err
