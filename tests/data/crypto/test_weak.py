from __future__ import annotations

import pytest

from cnsec.data.crypto.weak import weak_crypto_settings


def _messages(text: str) -> list[str]:
    return [message for _, message in weak_crypto_settings(text)]


@pytest.mark.parametrize(("line", "word"), [
    ("cipher: AES/ECB/PKCS5Padding", "ECB"),
    ("mode = aes-256-ecb", "ECB"),
    ("algorithm: DES", "DES"),
    ("cipher = des-ede3-cbc", "DES"),
    ("ssl_ciphers RC4-SHA:HIGH", "RC4"),
    ("encryption: aes-256-cbc", "CBC"),
    ("signature_algorithm: sha1WithRSAEncryption", "SHA-1"),
    ("digest_algorithm = md5", "MD5"),
    ("padding: PKCS1v15", "PKCS#1 v1.5"),
    ('alg: "RSA1_5"', "PKCS#1 v1.5"),
    ("cipher = RSA/ECB/NoPadding", "without padding"),
    ("key_algorithm: rsa-1024", "1024 bits"),
])
def test_weak_setting_is_reported(line: str, word: str) -> None:
    assert any(word in m for m in _messages(line)), _messages(line)


def test_terraform_rsa_bits_below_2048_is_reported() -> None:
    text = 'resource "tls_private_key" "k" {\n  algorithm = "RSA"\n  rsa_bits  = 1024\n}\n'
    assert weak_crypto_settings(text) == [
        (3, "RSA key of 1024 bits is too small: use at least 2048 (3072 preferred)")]


@pytest.mark.parametrize("line", [
    "cipher: aes-256-gcm",
    "encryption: aes-256-cbc-hmac-sha256",
    "padding: OAEP with SHA-256",
    "rsa_bits = 4096",
    "description: describes the deployment",
    "checksum: sha256",
    "git_commit_sha1: 0123abcd",
])
def test_strong_or_unrelated_setting_is_not_reported(line: str) -> None:
    assert weak_crypto_settings(line) == []


def test_lines_are_one_based() -> None:
    assert [line for line, _ in weak_crypto_settings("ok: 1\n\ncipher: RC4\n")] == [3]
