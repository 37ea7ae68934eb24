"""Mutated events never crash a run: every output format is written, every line accounted for.

Seeds are the bundled rules' own example events (so most mutants still reach rules and alerts);
mutations put odd types and values where the rules and the alert book read (times, keys, lists,
numbers at the limits, empty and huge strings, nesting)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from cnsec.cli import main
from cnsec.detect.rules import bundled

ODD: list[object] = [None, True, False, 0, -1, 1.5, 1e308, -1e308, "", "x" * 5000, "\u0000", [], {}, [[]],
                     [None], {"": None}, "2026-13-45T99:99:99Z", "9" * 30, 2**63 - 1, -(2**63), "NaN",
                     [1, "a", None], {"a": {"b": []}}, "0001-01-01T00:00:00+01:00"]


def _mutate(rnd: random.Random, value: object, depth: int = 0) -> object:
    if depth > 4 or rnd.random() < 0.15:
        return rnd.choice(ODD)
    if isinstance(value, dict):
        return {k: _mutate(rnd, v, depth + 1) if rnd.random() < 0.3 else v
                for k, v in value.items() if rnd.random() >= 0.05}
    if isinstance(value, list):
        return [_mutate(rnd, v, depth + 1) for v in value]
    return rnd.choice(ODD) if rnd.random() < 0.5 else value


@pytest.mark.parametrize("seed", [1, 2])
def test_mutated_events_are_read_and_reported_in_every_format(tmp_path: Path, seed: int,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    rnd = random.Random(seed)
    by_source: dict[str, list[dict[str, object]]] = {}
    for rule in bundled().rules:
        for example in rule.examples:
            by_source.setdefault(rule.source, []).append(example.event)
    for source, seeds in sorted(by_source.items()):
        log = tmp_path / f"{source}.log"
        lines = [json.dumps(_mutate(rnd, rnd.choice(seeds)), default=str) for _ in range(400)]
        log.write_text("\n".join(lines) + "\n")
        for fmt in ("jsonl", "json", "table", "markdown"):
            out = tmp_path / f"{source}.{fmt}"
            assert main(["detect", str(log), "--source", source, "-f", fmt, "-o", str(out),
                         "--fail-on", "none"]) == 0, (source, fmt)
            assert out.exists()
        stats = json.loads((tmp_path / f"{source}.json").read_text())["stats"]
        assert stats["lines"] == len(lines) and stats["events"] + stats["malformed"] > len(lines) // 2
    capsys.readouterr()
