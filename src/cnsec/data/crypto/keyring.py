"""The local keyring: named, versioned AES-256 key-encryption keys in one file, itself encrypted.

The file never holds key material in clear. It is sealed with AES-256-GCM under a key derived from the
master key: ``CNSEC_MASTER_KEY`` (32 random bytes, base64; HKDF-SHA256) or ``CNSEC_PASSPHRASE``
(argon2id). Every write is atomic and serialised by a lock file, so a crash or a concurrent ``rotate``
never loses a key version. Rotation adds a version and never deletes one: old data stays readable until
``min_decryption_version`` is raised on purpose.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import hmac
import json
import os
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cnsec.data.crypto._util import b64d, b64e, canonical_json, hkdf
from cnsec.data.crypto.errors import KeyringError, KeyVersionDisabledError, WrongKeyError
from cnsec.errors import UsageError
from cnsec.fsutil import atomic_writer

KEYRING_FORMAT = "cnsec.keyring/v1"
KEY_TYPE = "aes256-gcm"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

#: argon2id cost for passphrase-protected keyrings (RFC 9106, second recommended option).
ARGON2_DEFAULTS = {"t": 3, "m": 65536, "p": 4}
#: a keyring whose recorded argon2 cost is below this is refused (a downgraded file is suspicious).
ARGON2_FLOOR = {"t": 1, "m": 8192, "p": 1}


def default_keyring_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get("CNSEC_KEYRING"):
        return Path(env["CNSEC_KEYRING"]).expanduser()
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "cnsec" / "keyring.json"


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def key_fingerprint(material: bytes) -> str:
    """A short public id of one key version (HMAC of a constant): tells keyrings apart, leaks nothing."""
    return hmac.new(material, b"cnsec key fingerprint v1", hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class MasterKey:
    """Where the keyring's own key comes from. ``secret`` is raw key bytes or a UTF-8 passphrase."""

    kind: str  # "raw" | "passphrase"
    secret: bytes = field(repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> MasterKey:
        env = os.environ if env is None else env
        raw = env.get("CNSEC_MASTER_KEY")
        if raw:
            try:
                key = b64d(raw.strip())
            except ValueError:
                raise KeyringError("CNSEC_MASTER_KEY is not valid base64") from None
            if len(key) != 32:
                raise KeyringError(f"CNSEC_MASTER_KEY must decode to 32 bytes, not {len(key)}")
            return cls("raw", key)
        passphrase = env.get("CNSEC_PASSPHRASE")
        if passphrase:
            return cls("passphrase", passphrase.encode("utf-8"))
        raise KeyringError("no master key: set CNSEC_MASTER_KEY (32 random bytes, base64) "
                           "or CNSEC_PASSPHRASE")

    def new_kdf(self, argon2: Mapping[str, int] | None = None) -> dict[str, Any]:
        salt = b64e(os.urandom(16))
        if self.kind == "raw":
            return {"alg": "hkdf-sha256", "salt": salt}
        params = dict(ARGON2_DEFAULTS if argon2 is None else argon2)
        return {"alg": "argon2id", "salt": salt, **params}

    def derive(self, kdf: Mapping[str, Any]) -> bytes:
        alg = kdf.get("alg")
        try:
            salt = b64d(kdf["salt"])
        except (KeyError, ValueError):
            raise KeyringError("keyring header is damaged (kdf salt)") from None
        if alg == "hkdf-sha256":
            if self.kind != "raw":
                raise KeyringError("this keyring is protected by CNSEC_MASTER_KEY, not a passphrase")
            return hkdf(self.secret, salt, b"cnsec keyring v1")
        if alg == "argon2id":
            if self.kind != "passphrase":
                raise KeyringError("this keyring is protected by a passphrase: set CNSEC_PASSPHRASE")
            try:
                t, m, p = int(kdf["t"]), int(kdf["m"]), int(kdf["p"])
            except (KeyError, TypeError, ValueError):
                raise KeyringError("keyring header is damaged (argon2 parameters)") from None
            if t < ARGON2_FLOOR["t"] or m < ARGON2_FLOOR["m"] or p < ARGON2_FLOOR["p"] or m > 4 << 20:
                raise KeyringError("keyring argon2 parameters are outside the accepted range")
            from argon2.low_level import Type, hash_secret_raw

            derived: bytes = hash_secret_raw(self.secret, salt, time_cost=t, memory_cost=m,
                                             parallelism=p, hash_len=32, type=Type.ID)
            return derived
        raise KeyringError(f"keyring uses an unknown key derivation {alg!r}")


@dataclass
class KeyVersion:
    version: int
    material: bytes = field(repr=False)
    created: str

    @property
    def fingerprint(self) -> str:
        return key_fingerprint(self.material)


@dataclass
class Key:
    name: str
    created: str
    primary: int
    min_decryption_version: int
    versions: dict[int, KeyVersion]
    type: str = KEY_TYPE

    def version(self, number: int) -> KeyVersion:
        found = self.versions.get(number)
        if found is None:
            raise WrongKeyError(f"key {self.name!r} has no version {number} in this keyring")
        if number < self.min_decryption_version:
            raise KeyVersionDisabledError(
                f"key {self.name!r} version {number} is below min_decryption_version "
                f"{self.min_decryption_version}: rewrap the data first or lower the minimum")
        return found

    @property
    def primary_version(self) -> KeyVersion:
        return self.versions[self.primary]

    def summary(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "versions": sorted(self.versions),
                "primary": self.primary, "min_decryption_version": self.min_decryption_version,
                "created": self.created,
                "fingerprints": {str(v): kv.fingerprint for v, kv in sorted(self.versions.items())}}


class Keyring:
    """The decrypted keyring in memory. Use :meth:`open` to read, :meth:`edit` to change it."""

    def __init__(self, path: Path, master: MasterKey, keys: dict[str, Key], kdf: dict[str, Any]) -> None:
        self.path = path
        self._master = master
        self._kdf = kdf
        self.keys = keys

    # -- reading -----------------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path | None = None, master: MasterKey | None = None, *,
             missing_ok: bool = False, argon2: Mapping[str, int] | None = None) -> Keyring:
        path = default_keyring_path() if path is None else Path(path)
        master = MasterKey.from_env() if master is None else master
        try:
            raw = path.read_bytes()
            _warn_if_shared(path)
        except FileNotFoundError:
            if missing_ok:
                return cls(path, master, {}, master.new_kdf(argon2))
            raise KeyringError(f"no keyring at {path}: create a key first "
                               f"(cnsec data keys create NAME)") from None
        except OSError as exc:
            raise KeyringError(f"cannot read keyring {path}: {exc.strerror}") from None
        try:
            outer = json.loads(raw)
            if outer.get("format") != KEYRING_FORMAT:
                raise KeyringError(f"{path} is not a cnsec keyring ({KEYRING_FORMAT})")
            kdf = outer["kdf"]
            nonce = b64d(outer["nonce"])
            sealed = b64d(outer["ciphertext"])
        except KeyringError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError):
            raise KeyringError(f"keyring {path} is damaged (not the expected JSON)") from None
        if not isinstance(kdf, dict):
            raise KeyringError(f"keyring {path} is damaged (kdf)")
        key = master.derive(kdf)
        try:
            plain = AESGCM(key).decrypt(nonce, sealed, _keyring_aad(kdf))
        except (InvalidTag, ValueError):
            raise KeyringError(f"cannot open keyring {path}: wrong master key or passphrase, "
                               f"or the file was modified") from None
        return cls(path, master, _parse_keys(plain, path), kdf)

    @classmethod
    @contextlib.contextmanager
    def edit(cls, path: Path | None = None, master: MasterKey | None = None, *,
             argon2: Mapping[str, int] | None = None) -> Iterator[Keyring]:
        """Lock, open (or start) the keyring, yield it, and save it atomically if the block succeeds."""
        path = default_keyring_path() if path is None else Path(path)
        # a symlinked keyring (dotfiles, a mounted secret) is written through to its target: renaming
        # the new file over the link would replace the link and leave the target stale
        path = Path(os.path.realpath(path))
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except FileExistsError:
            raise KeyringError(f"cannot write keyring {path}: {path.parent} is not a directory") from None
        except OSError as exc:
            raise KeyringError(f"cannot write keyring {path}: {exc.strerror}") from None
        with _locked(path):
            ring = cls.open(path, master, missing_ok=True, argon2=argon2)
            yield ring
            ring.save()

    def save(self) -> None:
        inner = canonical_json({"keys": {name: _key_to_json(k) for name, k in sorted(self.keys.items())}})
        key = self._master.derive(self._kdf)
        nonce = os.urandom(12)
        sealed = AESGCM(key).encrypt(nonce, inner, _keyring_aad(self._kdf))
        outer = {"format": KEYRING_FORMAT, "kdf": self._kdf, "nonce": b64e(nonce),
                 "ciphertext": b64e(sealed)}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with atomic_writer(self.path, "w", perms=0o600) as handle:
                handle.write(json.dumps(outer, indent=2) + "\n")
        except OSError as exc:
            raise KeyringError(f"cannot write keyring {self.path}: {exc.strerror}") from None

    # -- keys --------------------------------------------------------------------------------
    def get(self, name: str) -> Key:
        key = self.keys.get(name)
        if key is None:
            raise WrongKeyError(f"no key named {name!r} in keyring {self.path}")
        return key

    def create(self, name: str) -> Key:
        if not NAME_RE.match(name):
            raise UsageError(f"invalid key name {name!r}: use letters, digits, '.', '_' or '-' (max 64)")
        if name in self.keys:
            raise UsageError(f"key {name!r} already exists (use 'cnsec data keys rotate {name}')")
        now = _now()
        key = Key(name, now, 1, 1, {1: KeyVersion(1, AESGCM.generate_key(256), now)})
        self.keys[name] = key
        return key

    def rotate(self, name: str) -> KeyVersion:
        key = self.get(name)
        number = max(key.versions) + 1
        version = KeyVersion(number, AESGCM.generate_key(256), _now())
        key.versions[number] = version
        key.primary = number
        return version

    def set_min_decryption_version(self, name: str, number: int) -> None:
        key = self.get(name)
        if not 1 <= number <= key.primary:
            raise UsageError(f"min_decryption_version must be between 1 and the primary version "
                             f"{key.primary}")
        key.min_decryption_version = number


def _keyring_aad(kdf: Mapping[str, Any]) -> bytes:
    return canonical_json({"format": KEYRING_FORMAT, "kdf": dict(kdf)})


def _key_to_json(key: Key) -> dict[str, Any]:
    return {"type": key.type, "created": key.created, "primary": key.primary,
            "min_decryption_version": key.min_decryption_version,
            "versions": {str(v): {"material": b64e(kv.material), "created": kv.created}
                         for v, kv in sorted(key.versions.items())}}


def _parse_keys(plain: bytes, path: Path) -> dict[str, Key]:
    try:
        data = json.loads(plain)
        keys: dict[str, Key] = {}
        for name, entry in data["keys"].items():
            versions = {int(v): KeyVersion(int(v), b64d(kv["material"]), str(kv["created"]))
                        for v, kv in entry["versions"].items()}
            keys[name] = Key(name, str(entry["created"]), int(entry["primary"]),
                             int(entry["min_decryption_version"]), versions, str(entry["type"]))
        return keys
    except (ValueError, KeyError, TypeError, AttributeError):
        raise KeyringError(f"keyring {path} decrypted but its content is damaged") from None


def _warn_if_shared(path: Path) -> None:
    """Group or others may read the keyring (guess the passphrase offline) or write it (swap keys in):
    it is used, since the user asked, but never silently."""
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        return
    if mode & 0o077:
        print(f"cnsec: warning: keyring {path} is accessible to group or others (mode {mode:04o}); "
              f"run: chmod 600 {path}", file=sys.stderr)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    import fcntl

    lock_path = path.with_name(path.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise KeyringError(f"cannot lock keyring {path}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
