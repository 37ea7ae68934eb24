"""Password policy (NIST SP 800-63B) and hashing (argon2id with OWASP parameters).

The policy has no composition rules: length (12 to 256 characters), no common/breached password
(the bundled NCSC top-100k list, compared case-insensitively and also with the usual decorations
undone: digits and symbols at the ends, leetspeak), and no password that contains the
username. A plaintext password only ever lives in a local variable: it is never stored, logged,
echoed or put into an error message.
"""

from __future__ import annotations

import gzip
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

from cnsec.errors import InputError

if TYPE_CHECKING:
    from argon2 import PasswordHasher

MIN_LENGTH = 12
MAX_LENGTH = 256
#: OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_TIME_COST = 2
ARGON2_PARALLELISM = 1


@dataclass(frozen=True, slots=True)
class Violation:
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.message} [{self.rule}]"


class PasswordPolicyError(InputError):
    """A refused password: the message names every rule it broke, never the password itself."""

    def __init__(self, violations: list[Violation], who: str | None = None) -> None:
        self.violations = violations
        prefix = f"password for {who!r} refused" if who else "password refused"
        super().__init__(f"{prefix}: " + "; ".join(str(v) for v in violations))


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The bundled list, lower-cased, loaded once (about 30 ms)."""
    data = resources.files("cnsec.iam").joinpath("data/common-passwords.txt.gz").read_bytes()
    return frozenset(gzip.decompress(data).decode("utf-8").lower().split("\n")) - {""}


def normalize(password: str) -> str:
    """NFKC, as SP 800-63B asks for Unicode passwords, so the same password typed two ways verifies."""
    return unicodedata.normalize("NFKC", password)


_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
                       "@": "a", "$": "s", "!": "i", "+": "t", "|": "l"})
_LEET_L = str.maketrans({"1": "l", "!": "l"})
_DECORATION = "0123456789!@#$%^&*()_+-=.,?~ "


def undecorated(low: str) -> set[str]:
    """``low`` (lower-cased) and what is left once the usual decorations of a common password are
    undone: digits and symbols added at either end, spaces around it, leetspeak (``Password123!``,
    ``!P4ssw0rd2024`` and ``p@$$w0rd!!`` all come back to ``password``)."""
    core = low.strip(_DECORATION)
    out = {low, low.strip(), core}
    for text in (low, core):  # "1" and "!" stand for "i" or for "l"
        for plain in (text.translate(_LEET), text.translate(_LEET_L).translate(_LEET)):
            out |= {plain, plain.strip(_DECORATION)}
    return out - {""}


def check_policy(password: str, username: str | None = None) -> list[Violation]:
    """Every rule ``password`` breaks (empty when acceptable)."""
    pw = normalize(password)
    out: list[Violation] = []
    length = len(pw)
    if length < MIN_LENGTH:
        out.append(Violation("min-length", f"shorter than {MIN_LENGTH} characters"))
    if length > MAX_LENGTH:
        out.append(Violation("max-length", f"longer than {MAX_LENGTH} characters"))
    low = pw.lower()
    if any(v in common_passwords() for v in undecorated(low)):
        out.append(Violation("common-password", "is, or decorates, one of the 100,000 most common passwords"))
    if username and len(username) >= 3 and username.lower() in low:
        out.append(Violation("contains-username", "contains the username"))
    if length >= MIN_LENGTH and len(set(pw)) <= 2:
        out.append(Violation("repetitive", "is a repeated character or pair"))
    return out


def enforce_policy(password: str, username: str | None = None) -> None:
    violations = check_policy(password, username)
    if violations:
        raise PasswordPolicyError(violations, username)


@lru_cache(maxsize=4)
def hasher(memory_kib: int = ARGON2_MEMORY_KIB, time_cost: int = ARGON2_TIME_COST,
           parallelism: int = ARGON2_PARALLELISM) -> PasswordHasher:
    from argon2 import PasswordHasher, Type

    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism,
                          hash_len=32, salt_len=16, type=Type.ID)


def hash_password(password: str, ph: PasswordHasher | None = None) -> str:
    return (ph or hasher()).hash(normalize(password))


def verify_password(stored_hash: str, password: str, ph: PasswordHasher | None = None) -> bool:
    """Constant-time verification (argon2 compares digests itself); False on any mismatch."""
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    try:
        return bool((ph or hasher()).verify(stored_hash, normalize(password)))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str, ph: PasswordHasher | None = None) -> bool:
    from argon2.exceptions import InvalidHashError

    try:
        return bool((ph or hasher()).check_needs_rehash(stored_hash))
    except InvalidHashError:
        return True


def dummy_hash(ph: PasswordHasher | None = None) -> str:
    """A hash nobody's password matches, with ``ph``'s parameters: verified when the user does not
    exist, so an unknown user costs exactly one argon2 verification, as a known one does.

    It is built, not computed (random salt and digest in argon2's encoding): computing it would
    cost an extra hash in every fresh process (each CLI run), which is what told unknown users apart.
    """
    import base64
    import secrets

    h = ph or hasher()

    def b64(n: int) -> str:
        return base64.b64encode(secrets.token_bytes(n)).decode().rstrip("=")

    return (f"$argon2id$v=19$m={h.memory_cost},t={h.time_cost},p={h.parallelism}"
            f"${b64(h.salt_len)}${b64(h.hash_len)}")
