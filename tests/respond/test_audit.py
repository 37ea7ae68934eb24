from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnsec.errors import InputError
from cnsec.respond.audit import GENESIS, AuditTrail, canonical, record_hash, verify


def _trail(tmp_path: Path, n: int = 4) -> AuditTrail:
    trail = AuditTrail(tmp_path / "audit.jsonl")
    for i in range(n):
        trail.append({"outcome": "applied", "action": "block_traffic", "subject": f"203.0.113.{i}"})
    return trail


def _lines(trail: AuditTrail) -> list[str]:
    return trail.path.read_text(encoding="utf-8").splitlines()


def test_each_record_carries_the_hash_of_the_previous_one(tmp_path: Path) -> None:
    records = [json.loads(line) for line in _lines(_trail(tmp_path))]
    assert records[0]["prev"] == GENESIS
    assert [r["prev"] for r in records[1:]] == [r["hash"] for r in records[:-1]]
    assert all(record_hash(r) == r["hash"] for r in records)


def test_an_untouched_trail_verifies(tmp_path: Path) -> None:
    trail = _trail(tmp_path)
    outcome = verify(trail.path)
    assert outcome.ok and outcome.records == 4
    assert outcome.head == json.loads(_lines(trail)[-1])["hash"]


def test_an_edited_record_is_reported_with_its_line(tmp_path: Path) -> None:
    trail = _trail(tmp_path)
    lines = _lines(trail)
    lines[2] = lines[2].replace('"applied"', '"skipped"')
    trail.path.write_text("\n".join(lines) + "\n")
    outcome = verify(trail.path)
    assert not outcome.ok
    assert outcome.line == 3 and "edited" in outcome.problem and outcome.records == 2


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(tmp_path: Path) -> None:
    trail = _trail(tmp_path)
    lines = _lines(trail)
    forged = json.loads(lines[1]) | {"outcome": "skipped"}
    forged["hash"] = record_hash(forged)
    lines[1] = canonical(forged).decode()
    trail.path.write_text("\n".join(lines) + "\n")
    outcome = verify(trail.path)
    assert (outcome.ok, outcome.line) == (False, 3)
    assert "prev does not match" in outcome.problem


def test_a_deleted_record_is_reported(tmp_path: Path) -> None:
    trail = _trail(tmp_path)
    lines = _lines(trail)
    del lines[1]
    trail.path.write_text("\n".join(lines) + "\n")
    assert verify(trail.path).line == 2


def test_a_record_cut_off_the_end_is_caught_by_the_expected_head(tmp_path: Path) -> None:
    trail = _trail(tmp_path)
    head = verify(trail.path).head
    trail.path.write_text("\n".join(_lines(trail)[:-1]) + "\n")
    assert verify(trail.path).ok  # a shorter chain is still a chain...
    outcome = verify(trail.path, expect_head=head)
    assert not outcome.ok and "head hash differs" in outcome.problem


def test_garbage_in_the_trail_is_reported_with_its_line(tmp_path: Path) -> None:
    trail = _trail(tmp_path)
    with trail.path.open("a") as handle:
        handle.write("not json\n")
    outcome = verify(trail.path)
    assert (outcome.ok, outcome.line, outcome.problem) == (False, 5, "not valid JSON")


def test_appending_continues_the_chain_across_instances(tmp_path: Path) -> None:
    _trail(tmp_path, 2)
    record = AuditTrail(tmp_path / "audit.jsonl").append({"outcome": "planned"})
    assert record["seq"] == 3
    assert verify(tmp_path / "audit.jsonl").records == 3


def test_appending_after_a_corrupt_last_record_is_refused(tmp_path: Path) -> None:
    trail = _trail(tmp_path, 1)
    with trail.path.open("a") as handle:
        handle.write("{broken\n")
    with pytest.raises(InputError, match="last record is unreadable"):
        trail.append({"outcome": "planned"})


def test_the_trail_file_is_private_to_its_owner(tmp_path: Path) -> None:
    trail = _trail(tmp_path, 1)
    assert trail.path.stat().st_mode & 0o077 == 0


def test_verifying_a_missing_trail_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="audit trail not found"):
        verify(tmp_path / "none.jsonl")


@settings(max_examples=60, deadline=None)
@given(line=st.integers(0, 3), position=st.integers(0, 10_000), byte=st.integers(32, 126))
def test_any_single_character_change_is_detected(tmp_path_factory: pytest.TempPathFactory, line: int,
                                                 position: int, byte: int) -> None:
    trail = _trail(tmp_path_factory.mktemp("audit"))
    lines = _lines(trail)
    text = lines[line]
    at = position % len(text)
    if text[at] == chr(byte):
        return
    lines[line] = text[:at] + chr(byte) + text[at + 1:]
    trail.path.write_text("\n".join(lines) + "\n")
    outcome = verify(trail.path)
    assert not outcome.ok and outcome.line is not None and outcome.line <= line + 2


def test_a_same_value_rewrite_is_still_an_edit(tmp_path: Path) -> None:
    trail = _trail(tmp_path, 2)
    lines = _lines(trail)
    lines[1] = json.dumps(json.loads(lines[1]), indent=1).replace("\n", "")
    trail.path.write_text("\n".join(lines) + "\n")
    outcome = verify(trail.path)
    assert (outcome.ok, outcome.line, outcome.problem) == (False, 2, "not in canonical form (edited)")


def test_a_batch_chains_like_single_appends(tmp_path: Path) -> None:
    trail = _trail(tmp_path, 2)
    with trail.batch():
        for i in range(3):
            trail.append({"outcome": "planned", "n": i})
    trail.append({"outcome": "applied"})
    outcome = verify(trail.path)
    assert outcome.ok and outcome.records == 6
