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


def weak_crypto_settings(text: str) -> list[tuple[int, str]]:
    """(1-based line, message) for each weak algorithm named in ``text``, at most one per kind per line."""
    hits: list[tuple[int, str]] = []
    mentions_rsa = bool(_RSA_ANYWHERE.search(text))
    for number, line in enumerate(text.splitlines(), 1):
        if _ECB.search(line):
            hits.append((number, "ECB mode leaks plaintext patterns: use an AEAD such as AES-GCM"))
        if _DES.search(line):
            hits.append((number, "DES/3DES is broken or deprecated (64-bit blocks): use AES-GCM"))
        if _RC4.search(line):
            hits.append((number, "RC4 is broken: use AES-GCM or ChaCha20-Poly1305"))
        if _CBC.search(line) and not _MAC_NEARBY.search(line) and not _DES.search(line):
            hits.append((number, "CBC mode without a MAC is malleable (padding oracles): use AES-GCM or "
                                 "encrypt-then-MAC"))
        if _SIG_WEAK.search(line) or (_HASH_WEAK.search(line) and _SIG_CONTEXT.search(line)):
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
