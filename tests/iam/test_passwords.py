from __future__ import annotations

import pytest

from cnsec.iam import passwords
from cnsec.iam.passwords import PasswordPolicyError, check_policy, enforce_policy


def _rules(pw: str, user: str | None = None) -> set[str]:
    return {v.rule for v in check_policy(pw, user)}


def test_short_password_breaks_min_length() -> None:
    assert "min-length" in _rules("Tr0ub4dor&3")


def test_common_password_is_refused_even_when_long_enough() -> None:
    assert "common-password" in _rules("password1234")


def test_common_list_comparison_ignores_case() -> None:
    assert "common-password" in _rules("PASSWORD1234")


def test_password_containing_username_is_refused() -> None:
    assert "contains-username" in _rules("mary-has-a-little-lamb", "mary")


def test_long_passphrase_without_composition_is_accepted() -> None:
    assert check_policy("correct horse battery staple", "mary") == []


def test_passwords_of_64_characters_and_more_are_accepted() -> None:
    assert check_policy("a long passphrase about nothing in particular " * 2) == []


def test_error_message_names_the_rule_but_not_the_password() -> None:
    with pytest.raises(PasswordPolicyError) as info:
        enforce_policy("password123", "alice")
    assert "min-length" in str(info.value) and "common-password" in str(info.value)
    assert "password123" not in str(info.value)


def test_bundled_list_has_about_100k_entries_and_is_read_once() -> None:
    passwords.common_passwords.cache_clear()
    words = passwords.common_passwords()
    assert len(words) > 95_000
    assert passwords.common_passwords() is words  # later checks reuse it (speed is the bench's job)


def test_hash_uses_argon2id_with_owasp_parameters() -> None:
    h = passwords.hash_password("correct horse battery staple")
    assert h.startswith("$argon2id$") and "m=19456,t=2,p=1" in h


def test_verify_accepts_the_right_password_only(fast_ph: object) -> None:
    h = passwords.hash_password("correct horse battery staple", fast_ph)  # type: ignore[arg-type]
    assert passwords.verify_password(h, "correct horse battery staple", fast_ph)  # type: ignore[arg-type]
    assert not passwords.verify_password(h, "correct horse battery stapl", fast_ph)  # type: ignore[arg-type]


def test_weaker_parameters_need_rehash(fast_ph: object) -> None:
    h = passwords.hash_password("correct horse battery staple", fast_ph)  # type: ignore[arg-type]
    assert passwords.needs_rehash(h)


@pytest.mark.parametrize("pw", ["Password123!", "!P4ssw0rd2024", "p@$$w0rd!!!!!!", "Letmein2023!", "  qwerty123456  "])
def test_a_common_password_with_the_usual_decorations_is_still_common(pw: str) -> None:
    assert "common-password" in _rules(pw)


@pytest.mark.parametrize("pw", ["my dog is 12 years old!", "Tr0ub4dor&3xyz", "correct horse battery staple"])
def test_undoing_decorations_does_not_refuse_uncommon_passwords(pw: str) -> None:
    assert "common-password" not in _rules(pw)
