"""One error class per way that opening sealed data can fail, so users (and tests) can tell them apart.

All are :class:`~cnsec.errors.CnsecError`, so the CLI prints one line and exits 2. Messages name keys,
versions, context *keys* and chunk numbers, never key material, plaintext or context values.
"""

from __future__ import annotations

from cnsec.errors import CnsecError


class CryptoError(CnsecError):
    """Root of every data-security failure."""


class NotSealedError(CryptoError):
    """The input is not a cnsec sealed file (bad magic) or not a per-value encrypted document."""


class UnsupportedFormatError(CryptoError):
    """A sealed file from a newer (or unknown) format version or algorithm."""


class KeyringError(CryptoError):
    """The keyring cannot be opened: no master key, wrong master key or passphrase, damaged file."""


class WrongKeyError(CryptoError):
    """None of the available keys can open the data key (missing key, version, recipient or provider)."""


class KeyVersionDisabledError(WrongKeyError):
    """The key version is below the key's ``min_decryption_version``."""


class WrongContextError(CryptoError):
    """The encryption context given does not match the one the data was sealed with."""


class TamperedHeaderError(CryptoError):
    """The header (or the wrapped data key in it) fails authentication."""


class TamperedDataError(CryptoError):
    """A chunk or a sealed value fails authentication: modified, reordered, swapped or extra data."""


class TruncatedError(CryptoError):
    """The data ends before its final chunk."""


class ProviderUnavailableError(CryptoError):
    """An optional key provider (Vault, AWS KMS) is not installed or not configured."""
