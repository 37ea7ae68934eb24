# cnsec:ignore-file detector examples and test values are synthetic, never real credentials
"""Engine behaviour a user notices: one pass, identical engines, redaction, suppression, long lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnsec.data.scan.engine import AllowRule, Engine, EngineOptions, hyperscan_available

FIXTURE = (Path(__file__).parent / "fixtures" / "mixed.txt").read_bytes()
PEM = ("-----BEGIN RSA PRIVATE KEY-----\nMIICXQIBAAKBgQDwcEN7vZygGg6DvPpsw17hRD6S5N8+huaqs1JGXQfPhbvLTUsH\n"
       "dzGLVNQ/Z0wQVGdWuRIzX77P7oVKM2CoTA6VzT6s/bvr7HxFLl4NhohfyDsV0YCD\n-----END RSA PRIVATE KEY-----\n")


def test_hyperscan_and_re2_engines_give_identical_results() -> None:
    if not hyperscan_available():
        pytest.skip("hyperscan is not installed")
    a = Engine(backend="re2").scan_bytes(FIXTURE, "mixed.txt")
    b = Engine(backend="hyperscan").scan_bytes(FIXTURE, "mixed.txt")
    assert a == b
    assert len(a) >= 8


def test_fixture_finds_each_planted_secret_on_its_line(engine: Engine) -> None:
    lines = FIXTURE.decode().splitlines()
    planted = {i + 1 for i, line in enumerate(lines) if line.endswith("# PLANTED")}
    found = {h.line for h in engine.scan_bytes(FIXTURE, "mixed.txt")}
    assert planted <= found


def test_fixture_reports_nothing_on_decoy_lines(engine: Engine) -> None:
    lines = FIXTURE.decode().splitlines()
    decoys = {i + 1 for i, line in enumerate(lines) if line.endswith("# DECOY")}
    found = {h.line for h in engine.scan_bytes(FIXTURE, "mixed.txt")}
    assert not decoys & found


def test_preview_and_fingerprint_never_contain_the_secret(engine: Engine) -> None:
    secret = "Zq8-Lw2!pX9#rT4v"
    hits = engine.scan_bytes(f'DB_PASSWORD="{secret}"\n'.encode(), "app.env")
    assert hits
    assert secret not in repr(hits)
    assert secret[:6] not in hits[0].preview


def test_fingerprint_is_stable_and_depends_on_the_salt() -> None:
    text = b'api_token = "b035d48j9X2dfjF0hb9sd8Guf5hWu2ia"\n'
    a = Engine(backend="re2").scan_bytes(text, "a.py")[0].fingerprint
    b = Engine(backend="re2").scan_bytes(text, "a.py")[0].fingerprint
    c = Engine(options=EngineOptions(salt=b"other"), backend="re2").scan_bytes(text, "a.py")[0].fingerprint
    assert a == b != c


def test_pem_block_is_one_hit_spanning_its_lines(engine: Engine) -> None:
    hits = engine.scan_bytes(("x = 1\n" + PEM).encode(), "key.pem")
    assert [(h.detector, h.line, h.end_line) for h in hits] == [("private-key", 2, 5)]


def test_inline_cnsec_ignore_suppresses_with_its_reason(engine: Engine) -> None:
    text = b'token = "b035d48j9X2dfjF0hb9sd8Guf5hWu2ia"  # cnsec:ignore rotated test token\n'
    (hit,) = engine.scan_bytes(text, "a.py")
    assert hit.suppressed == "rotated test token"


def test_detect_secrets_pragma_suppresses(engine: Engine) -> None:
    text = b'token = "b035d48j9X2dfjF0hb9sd8Guf5hWu2ia"  # pragma: allowlist secret\n'
    (hit,) = engine.scan_bytes(text, "a.py")
    assert hit.suppressed


def test_allowlist_value_glob_suppresses_with_reason() -> None:
    rule = AllowRule(reason="AWS documentation key", value="AKIA*", detector="aws-access-key-id")
    eng = Engine(options=EngineOptions(allow=(rule,)), backend="re2")
    (hit,) = eng.scan_bytes(b"id = AKIAQWADE5R42RDZ4JEM\n", "a.txt")
    assert hit.suppressed == "AWS documentation key"


def test_secret_in_a_minified_long_line_is_found(engine: Engine) -> None:
    line = "var a=1;" * 2000 + 'var k="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";' + "var b=2;" * 2000
    hits = engine.scan_bytes(line.encode(), "bundle.min.js")
    assert [h.detector for h in hits] == ["github-token"]


def test_generic_detectors_stay_quiet_in_test_fixture_paths(engine: Engine) -> None:
    text = b'password = "Prl23Db#@xq"\n'
    assert engine.scan_bytes(text, "src/app.py")
    assert not engine.scan_bytes(text, "tests/fixtures/app.py")


def test_unquoted_identifier_in_code_is_a_variable_not_a_password(engine: Engine) -> None:
    assert not engine.scan_bytes(b"password = user_supplied_Pass2\n", "app.py")
    assert engine.scan_bytes(b"password = user_supplied_Pass2\n", "app.env")


def test_keyword_inside_other_words_is_not_a_secret(engine: Engine) -> None:
    assert not engine.scan_bytes(b"passengers: quickBrown42\ncompass = 'N0rth-East'\n", "a.yaml")


def test_any_format_in_a_minified_long_line_is_found(engine: Engine) -> None:
    line = "a=1;" * 3000 + 'k="AIzaSyD3xQ8Xf9mGq1yQ2vW3e4R5t6Y7u8I9o0P";' + "b=2;" * 3000
    assert [h.detector for h in engine.scan_bytes(line.encode(), "app.min.js")] == ["gcp-api-key"]


def test_ignore_file_marker_suppresses_every_hit_with_its_reason(engine: Engine) -> None:
    text = b"# cnsec:ignore-file synthetic fixture\nid = AKIAQWADE5R42RDZ4JEM\n"
    (hit,) = engine.scan_bytes(text, "fixture.txt")
    assert hit.suppressed == "synthetic fixture"


def _base64_line(size: int, seed: int = 7) -> bytes:
    import base64
    import random

    rng = random.Random(seed)
    return base64.b64encode(rng.randbytes(size * 3 // 4))


def test_an_aws_key_in_the_middle_of_a_4_mb_base64_line_is_found_at_its_column(engine: Engine) -> None:
    blob = _base64_line(4 << 20)
    key = b' aws_key="AKIAQWADE5R42RDZ4JEM" '
    middle = len(blob) // 2
    hits = engine.scan_bytes(blob[:middle] + key + blob[middle:], "bundle.min.js")
    found = [h for h in hits if h.detector == "aws-access-key-id"]
    assert [(h.line, h.column) for h in found] == [(1, middle + key.index(b"AKIA") + 1)]


def test_a_line_dense_with_keywords_is_scanned_in_bounded_memory(engine: Engine) -> None:
    """1 MB of one line where a keyword starts every 3 bytes (a matcher hit every 3 bytes)."""
    import tracemalloc

    data = b"key" * ((1 << 20) // 3) + b" AKIAQWADE5R42RDZ4JEM\n"
    tracemalloc.start()
    try:
        hits = engine.scan_bytes(data, "dense.txt")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [h.detector for h in hits] == ["aws-access-key-id"]
    assert peak < 16 << 20, f"peak {peak >> 20} MB"


def test_a_long_base64_line_is_scanned_in_bounded_memory(engine: Engine) -> None:
    import tracemalloc

    data = _base64_line(2 << 20)
    tracemalloc.start()
    try:
        engine.scan_bytes(data, "blob.txt")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20, f"peak {peak >> 20} MB"
