"""Weak cryptography named in configuration text: what the data pillar teaches ``cnsec assess``.

A pure function over text (any config: YAML, HCL, properties, Java/Python settings, TLS cipher lists)
so an assess check can call it on each file and turn the hits into findings. Matching is line by line
with fixed, linear patterns; it names algorithms, it does not parse formats, so it favours clear hits:
ECB, DES/3DES/RC4, CBC without a MAC, MD5/SHA-1 for signatures, RSA PKCS#1 v1.5 encryption or no
padding, and RSA keys under 2048 bits.
"""

from __future__ import annotations

import re

_ECB = re.compile(r"(?i)(?<![a-z0-9])(?:aes|des|des3|3des|des-ede3?|blowfish|bf|camellia|sm4)?"
                  r"[-_/]?(?:\d{3}[-_/])?ecb(?![a-z0-9])|MODE_ECB")
_DES = re.compile(r"(?i:(?<![a-z0-9])(?:3des|tripledes|triple-des|desede|des-ede3?(?:-cbc)?|des3|des-cbc|"
                  r"des_cbc|des-cfb|des-ofb|single[-_ ]des)(?![a-z0-9]))|(?<![A-Za-z0-9])DES(?![A-Za-z0-9])")
_RC4 = re.compile(r"(?i)(?<![a-z0-9])(?:rc4|arcfour|arc4)(?![a-z0-9])")
_CBC = re.compile(r"(?i)(?<![a-z0-9])(?:aes|camellia|aria|sm4|seed)?[-_/]?(?:\d{3}[-_/])?cbc(?![a-z0-9])")
_MAC_NEARBY = re.compile(r"(?i)hmac|encrypt[-_ ]then[-_ ]mac|(?<![a-z])etm(?![a-z])|-hs\d{3}|cbc-hmac")
_SIG_WEAK = re.compile(
    r"(?i)(?:md5|sha-?1)[-_ ]?with[-_ ]?(?:rsa|dsa|ecdsa)(?:encryption)?|(?:rsa|dsa|ecdsa)[-_ ]?with[-_ ]?"
    r"(?:md5|sha-?1)|(?<![a-z0-9])(?:rsa|dsa|ecdsa|ssh-rsa)[-_/](?:md5|sha-?1)(?![a-z0-9])|"
    r"(?<![a-z0-9])(?:RS1|HS1)(?![a-z0-9])")
_SIG_CONTEXT = re.compile(r"(?i)sign|signature|digest|hash[-_ ]?alg|fingerprint[-_ ]?alg|cert")
_HASH_WEAK = re.compile(r"(?i)(?<![a-z0-9])(?:md5|sha-?1)(?![a-z0-9-])")
_RSA_V15 = re.compile(r"(?i)pkcs1v15|pkcs#?1[ _-]?v?1[._]5|pkcs1padding|rsa_pkcs1_padding|rsaes[-_]pkcs1|"
                      r"(?<![a-z0-9])RSA1_5(?![a-z0-9])|rsa-1_5")
_RSA_NOPAD = re.compile(r"(?i)rsa/[a-z]+/nopadding|rsa_no_padding|rsa[-_ ]?raw(?![a-z])")
_RSA_INLINE = re.compile(r"(?i)(?<![a-z0-9])rsa[-_: ]?(\d{3,4})(?![0-9])")
_KEY_BITS = re.compile(r"(?i)(?:rsa_bits|rsa[-_ ]?key[-_ ]?size|key[-_ ]?size|key[-_ ]?length|keysize|bits)"
                       r"\W{0,4}[=:]\s*\"?'?(\d{3,5})(?![0-9])")
_RSA_ANYWHERE = re.compile(r"(?i)rsa")
#: An IANA TLS cipher suite name: key exchange (and authentication) before ``_WITH_``, the record
#: cipher and its MAC after (``TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA``). TLS 1.3 names have no ``_WITH_``.
_TLS_SUITE = re.compile(r"(?<![A-Za-z0-9])TLS_([A-Z0-9_]{1,40}?)_WITH_([A-Z0-9_]{1,60})")  # bounded: linear
#: A certificate's fingerprint or thumbprint: an identifier a protocol fixes (AWS IAM wants the SHA-1
#: thumbprint of an OIDC provider's CA), not a signature or digest the configuration chooses.
#: Ciphers an OpenSSL cipher string takes out (``!RC4``, ``:-MD5``, ``!aNULL``): named to be disabled.
_EXCLUDED = re.compile(r"(?<![A-Za-z0-9])![A-Za-z0-9+_.-]+|(?<=:)-[A-Za-z0-9+_.][A-Za-z0-9+_.-]*")
_THUMBPRINT = re.compile(r"(?i)thumbprint|(?:md5|sha-?1)[-_ ]?fingerprint")


def weak_crypto_settings(text: str) -> list[tuple[int, str]]:
    """(1-based line, message) for each weak algorithm named in ``text``, at most one per kind per line.

    TLS cipher suites are :func:`legacy_tls_suites`' business: their CBC suites carry an HMAC, so
    "CBC without a MAC" would be wrong about them (their RC4, DES and 3DES are still reported here).
    What an OpenSSL cipher string excludes (``!RC4``, ``:-DES``) is disabled, not configured."""
    hits: list[tuple[int, str]] = []
    mentions_rsa = bool(_RSA_ANYWHERE.search(text))
    for number, line in enumerate(text.splitlines(), 1):
        if "!" in line or ":-" in line:
            line = _EXCLUDED.sub(" ", line)
        if _ECB.search(line):
            hits.append((number, "ECB mode leaks plaintext patterns: use an AEAD such as AES-GCM"))
        if _DES.search(line):
            hits.append((number, "DES/3DES is broken or deprecated (64-bit blocks): use AES-GCM"))
        if _RC4.search(line):
            hits.append((number, "RC4 is broken: use AES-GCM or ChaCha20-Poly1305"))
        if (_CBC.search(_TLS_SUITE.sub(" ", line) if "TLS_" in line else line) and not _MAC_NEARBY.search(line)
                and not _DES.search(line)):
            hits.append((number, "CBC mode without a MAC is malleable (padding oracles): use AES-GCM or "
                                 "encrypt-then-MAC"))
        if _SIG_WEAK.search(line) or (_HASH_WEAK.search(line) and _SIG_CONTEXT.search(line)
                                      and not _THUMBPRINT.search(line)):
            hits.append((number, "MD5/SHA-1 for signatures or digests is collision-prone: use SHA-256 "
                                 "or stronger"))
        if _RSA_V15.search(line):
            hits.append((number, "RSA PKCS#1 v1.5 encryption is open to padding-oracle attacks: use "
                                 "RSA-OAEP with SHA-256"))
        if _RSA_NOPAD.search(line):
            hits.append((number, "RSA without padding (textbook RSA) is insecure: use RSA-OAEP with SHA-256"))
        small = _small_rsa(line, mentions_rsa)
        if small is not None:
            hits.append((number, f"RSA key of {small} bits is too small: use at least 2048 (3072 preferred)"))
    return hits


def _small_rsa(line: str, mentions_rsa: bool) -> int | None:
    match = _RSA_INLINE.search(line)
    if match and 256 <= int(match.group(1)) < 2048:
        return int(match.group(1))
    match = _KEY_BITS.search(line)
    if match and (mentions_rsa or "rsa" in line.lower()):
        bits = int(match.group(1))
        if 256 <= bits < 2048:
            return bits
    return None


def legacy_tls_suites(text: str) -> list[tuple[int, str]]:
    """(1-based line, message) for TLS cipher suites that are legacy rather than broken, one message per
    kind per line: CBC suites (HMAC-authenticated, but MAC-then-encrypt, with a record of padding-oracle
    and timing attacks: Lucky13, POODLE's TLS variant) and suites with static RSA key exchange
    (``TLS_RSA_WITH_…``: no forward secrecy). Suites with RC4, DES or 3DES, or without encryption or
    authentication, are worse and named by :func:`weak_crypto_settings` or left to it."""
    hits: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if "TLS_" not in line:
            continue
        cbc: list[str] = []
        static_rsa: list[str] = []
        for m in _TLS_SUITE.finditer(line):
            exchange, cipher = m.group(1), m.group(2)
            if _DES.search(cipher) or _RC4.search(cipher):
                continue
            if "_CBC_" in f"_{cipher}_":
                cbc.append(m.group(0))
            if exchange in ("RSA", "RSA_PSK", "PSK"):
                static_rsa.append(m.group(0))
        if cbc:
            hits.append((number, f"TLS CBC cipher suites ({_some(cbc)}) authenticate records with HMAC but "
                                 "MAC-then-encrypt, which has a history of padding-oracle and timing attacks "
                                 "(Lucky13, POODLE against TLS): prefer AEAD suites (AES-GCM, ChaCha20-Poly1305)"))
        if static_rsa:
            hits.append((number, f"TLS cipher suites with static RSA or PSK key exchange ({_some(static_rsa)}) "
                                 "have no forward secrecy: a leaked server key decrypts recorded traffic; "
                                 "use ECDHE suites"))
    return hits


def _some(names: list[str]) -> str:
    return ", ".join(names[:2]) + (f" and {len(names) - 2} more" if len(names) > 2 else "")
