# cnsec:ignore-file detector examples and test values are synthetic, never real credentials
"""The API the assessment pillar calls: scan_text and scan_value."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cnsec.data.scan import SecretHit, scan_text, scan_value
from cnsec.model.severity import Severity


def test_scan_text_returns_hits_ordered_by_line() -> None:
    text = "a: 1\nHF_TOKEN=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\nid = AKIAQWADE5R42RDZ4JEM\n"
    hits = scan_text(text, "app.env")
    assert [(h.line, h.detector) for h in hits] == [(2, "huggingface-token"), (3, "aws-access-key-id")]
    assert all(isinstance(h, SecretHit) and h.severity >= Severity.HIGH for h in hits)


def test_scan_value_flags_a_weak_literal_under_a_sensitive_name() -> None:
    hit = scan_value("DB_PASSWORD", "password123")
    assert hit is not None and hit.detector == "generic-password"
    assert "password123" not in hit.preview


def test_scan_value_flags_a_known_token_format_under_any_name() -> None:
    hit = scan_value("FOO", "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")
    assert hit is not None and hit.detector == "github-token"


def test_scan_value_ignores_references_and_placeholders() -> None:
    for value in ("${DB_PASSWORD}", "$(DB_PASSWORD)", "{{ .Values.password }}", "changeme", "<password>", ""):
        assert scan_value("DB_PASSWORD", value) is None, value


def test_scan_value_ignores_non_sensitive_names() -> None:
    assert scan_value("LOG_LEVEL", "Sup3r-S3cret!mail") is None
    assert scan_value(None, "Sup3r-S3cret!mail") is None


def test_scan_value_flags_the_secret_key_env_var() -> None:
    hit = scan_value("SECRET_KEY", "secret-key")
    assert hit is not None and hit.detector in ("generic-secret", "generic-api-key")

_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)


@settings(max_examples=200, deadline=None)
@given(text=_TEXT)
def test_scan_text_never_raises_and_never_shows_what_it_found(text: str) -> None:
    for hit in scan_text(text, "any.yaml"):
        assert 1 <= hit.line <= hit.end_line <= text.count("\n") + 1
        assert "*" in hit.preview


@settings(max_examples=200, deadline=None)
@given(key=st.one_of(st.none(), st.sampled_from(["DB_PASSWORD", "api_key", "TOKEN", "name"])), value=_TEXT)
def test_scan_value_never_raises_and_masks_the_value(key: str | None, value: str) -> None:
    hit = scan_value(key, value)
    if hit is not None and len(value.strip()) >= 8:
        assert value.strip() not in hit.preview
