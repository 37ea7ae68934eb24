"""On the shared labelled corpora: both engines agree, and accuracy does not regress (fast, ~1 s)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cnsec.data.scan.engine import Engine, EngineOptions, hyperscan_available

CORPUS = Path(os.environ.get("CNSEC_CORPORA", Path(__file__).resolve().parents[3] / "../shared/corpora")) / "secrets"
SAMPLES = CORPUS / "credsweeper" / "tests" / "samples"

pytestmark = pytest.mark.corpus


def _need_corpus() -> None:
    if not SAMPLES.is_dir():
        pytest.skip(f"secrets corpus not found at {CORPUS} (../shared/corpora beside the repo)")


def _texts() -> list[tuple[str, bytes]]:
    out = []
    for path in sorted(CORPUS.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if b"\x00" not in data[:8192]:
                out.append((str(path.relative_to(CORPUS)), data))
    return out


def test_hyperscan_and_re2_agree_on_every_corpus_file() -> None:
    _need_corpus()
    if not hyperscan_available():
        pytest.skip("hyperscan is not installed")
    opts = EngineOptions(skip_generic_in_tests=False)
    a, b = Engine(options=opts, backend="re2"), Engine(options=opts, backend="hyperscan")
    for name, data in _texts():
        assert a.scan_bytes(data, name) == b.scan_bytes(data, name), name


def test_f1_on_credsweeper_samples_stays_above_target(engine: Engine) -> None:
    _need_corpus()
    have = {p.name for p in SAMPLES.iterdir()}
    truth = set()
    for entry in json.loads((SAMPLES.parent / "data_output.json").read_text()):
        for ld in entry["line_data_list"]:
            name = ld["path"].split("samples/", 1)[1]
            if name in have:
                truth.add((name, int(ld["line_num"])))
    eng = Engine(options=EngineOptions(skip_generic_in_tests=False), backend=engine.backend)
    pred = set()
    for name in sorted(have):
        data = (SAMPLES / name).read_bytes()
        if b"\x00" in data[:8192]:
            continue
        for h in eng.scan_bytes(data, name):
            pred.update((name, line) for line in range(h.line, h.end_line + 1))
    tp = len(pred & truth)
    precision, recall = tp / len(pred), tp / len(truth)
    f1 = 2 * precision * recall / (precision + recall)
    assert f1 >= 0.85, (precision, recall, f1)
