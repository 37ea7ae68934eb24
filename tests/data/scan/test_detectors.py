# cnsec:ignore-file detector examples and test values are synthetic, never real credentials
"""Every detector finds its own examples and stays quiet on its counter-examples, on both engines."""

from __future__ import annotations

import pytest

from cnsec.data.scan.detectors import Detector, DuplicateDetectorError, all_detectors
from cnsec.data.scan.engine import Engine

DETECTORS = all_detectors()


def test_registry_has_at_least_sixty_detectors() -> None:
    assert len(DETECTORS) >= 60


def test_detector_ids_are_unique_and_stable_kebab_case() -> None:
    ids = [d.id for d in DETECTORS]
    assert len(ids) == len(set(ids))
    assert all(i == i.lower() and " " not in i for i in ids)


def test_every_detector_declares_an_example() -> None:
    assert [d.id for d in DETECTORS if not d.examples] == []


@pytest.mark.parametrize("det", DETECTORS, ids=lambda d: d.id)
def test_detector_finds_its_examples(det: Detector, engine: Engine) -> None:
    for example in det.examples:
        found = {h.detector for h in engine.scan_bytes(example.encode(), "example.txt")}
        assert det.id in found, f"{det.id} missed its example"


@pytest.mark.parametrize("det", [d for d in DETECTORS if d.counter_examples], ids=lambda d: d.id)
def test_detector_ignores_its_counter_examples(det: Detector, engine: Engine) -> None:
    for example in det.counter_examples:
        found = {h.detector for h in engine.scan_bytes(example.encode(), "example.txt")}
        assert det.id not in found, f"{det.id} fired on a counter-example"


def test_duplicate_detector_id_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    import cnsec.data.scan.detectors.ai as ai

    all_detectors.cache_clear()
    monkeypatch.setattr(ai, "DETECTORS", (*ai.DETECTORS, DETECTORS[0]))
    try:
        with pytest.raises(DuplicateDetectorError):
            all_detectors()
    finally:
        monkeypatch.undo()
        all_detectors.cache_clear()
