"""Baselines survive restarts through the state file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cnsec.errors import UsageError
from tests.detect.correlate.helpers import T, correlator, feed, metric
from tests.detect.correlate.test_windows import BASELINE


def _latency(w0: int, windows: int, value: float) -> list[dict]:
    return [metric(T + (w0 + w) * 300 + i * 30, "latency_ms", value, service="web")
            for w in range(windows) for i in range(10)]


def test_learned_baseline_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    first = correlator(BASELINE)
    assert feed(first, _latency(0, 4, 100.0)) == []
    first.save_state(state)
    second = correlator(BASELINE)
    second.load_state(state)
    assert [a.key for a in feed(second, _latency(4, 1, 500.0))] == ["service=web"]


def test_without_the_state_file_a_restart_starts_learning_afresh() -> None:
    assert feed(correlator(BASELINE), _latency(4, 1, 500.0)) == []


def test_replaying_the_same_input_does_not_learn_it_twice(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    c = correlator(BASELINE)
    feed(c, _latency(0, 4, 100.0))
    c.save_state(state)
    again = correlator(BASELINE)
    again.load_state(state)
    feed(again, _latency(0, 4, 100.0))
    assert again.catalog.signs["slow"].baselines["web"].n == 4  # type: ignore[union-attr]


def test_state_file_is_json_written_whole(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    c = correlator(BASELINE)
    feed(c, _latency(0, 4, 100.0))
    c.save_state(state)
    doc = json.loads(state.read_text())
    assert doc["version"] == 1 and "web" in doc["signs"]["slow"]["keys"]
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_a_changed_sign_expression_ignores_its_old_baseline(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    c = correlator(BASELINE)
    feed(c, _latency(0, 4, 100.0))
    c.save_state(state)
    changed = correlator(BASELINE.replace("2 × baseline", "3 × baseline"))
    changed.load_state(state)
    assert changed.restored == 0


def test_corrupt_state_file_is_a_clear_error(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text("{not json")
    with pytest.raises(UsageError, match="state file"):
        correlator(BASELINE).load_state(state)
