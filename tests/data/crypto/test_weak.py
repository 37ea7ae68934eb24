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


def test_a_tls_cbc_suite_is_legacy_not_cbc_without_a_mac() -> None:
    from cnsec.data.crypto.weak import legacy_tls_suites

    line = "ciphers: TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
    assert weak_crypto_settings(line) == []
    [(_, message)] = legacy_tls_suites(line)
    assert "HMAC" in message and "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA" in message


def test_static_rsa_suites_lack_forward_secrecy_and_broken_suites_stay_weak() -> None:
    from cnsec.data.crypto.weak import legacy_tls_suites

    assert [m.split(" (")[0] for _, m in legacy_tls_suites("TLS_RSA_WITH_AES_256_GCM_SHA384")] == [
        "TLS cipher suites with static RSA or PSK key exchange"]
    assert legacy_tls_suites("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 TLS_AES_128_GCM_SHA256") == []
    assert any("3DES" in m for m in _messages("TLS_RSA_WITH_3DES_EDE_CBC_SHA"))


@pytest.mark.parametrize("line", [
    "thumbprint_list = [data.tls_certificate.this.certificates[0].sha1_fingerprint]",
    "oidc_thumbprint: 9e99a48a9960b14926bb7f3b02e22da2b0ab7280  # sha1 of the root CA cert",
])
def test_a_certificate_thumbprint_is_an_identifier_not_a_hash_choice(line: str) -> None:
    assert weak_crypto_settings(line) == []


def test_ciphers_an_openssl_cipher_string_excludes_are_not_configured() -> None:
    """ingress-nginx's test config enables DES-CBC3-SHA and excludes !RC4 and !DES: only 3DES is weak."""
    line = '"sslCiphers": "ECDHE-RSA-AES128-GCM-SHA256:DES-CBC3-SHA:!aNULL:!eNULL:!EXPORT:!DES:!RC4:!MD5:-SHA1"'
    assert _messages(line) == ["DES/3DES is broken or deprecated (64-bit blocks): use AES-GCM"]
    assert _messages('"sslCiphers": "HIGH:!aNULL:!MD5:!RC4:!3DES"') == []
