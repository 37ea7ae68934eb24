from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from cnsec.data.crypto.errors import TamperedDataError, WrongContextError
from cnsec.data.crypto.keyring import Keyring
from cnsec.data.crypto.providers import LocalKeyWrapper, Unwrappers
from cnsec.data.files.whole import decrypt_file, encrypt_file, rewrap_file
from cnsec.errors import UsageError


@pytest.fixture
def plain(tmp_path: Path) -> Path:
    path = tmp_path / "backup.tar"
    path.write_bytes(os.urandom(300_000))
    return path


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_file_round_trip(plain: Path, wrap: list[LocalKeyWrapper], unwrap: Unwrappers) -> None:
    sealed, out = plain.with_suffix(".cnsec"), plain.with_suffix(".out")
    header = encrypt_file(str(plain), str(sealed), wrap, {"tenant": "acme"}, chunk_size=65536)
    assert header.length == 300_000
    decrypt_file(str(sealed), str(out), unwrap, {"tenant": "acme"})
    assert out.read_bytes() == plain.read_bytes()


def test_decrypted_file_is_private(plain: Path, wrap: list[LocalKeyWrapper], unwrap: Unwrappers) -> None:
    sealed, out = plain.with_suffix(".cnsec"), plain.with_suffix(".out")
    encrypt_file(str(plain), str(sealed), wrap)
    decrypt_file(str(sealed), str(out), unwrap)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_failed_decrypt_leaves_no_plaintext_file(plain: Path, wrap: list[LocalKeyWrapper],
                                                 unwrap: Unwrappers) -> None:
    sealed, out = plain.with_suffix(".cnsec"), plain.with_suffix(".out")
    encrypt_file(str(plain), str(sealed), wrap, chunk_size=4096)
    data = bytearray(sealed.read_bytes())
    data[-10] ^= 0x40  # the last chunk: everything before it was already verified and written
    sealed.write_bytes(bytes(data))
    with pytest.raises(TamperedDataError) as info:
        decrypt_file(str(sealed), str(out), unwrap)
    assert str(info.value).startswith(str(sealed))
    assert not out.exists()
    assert _leftovers(plain.parent) == []


def test_wrong_context_leaves_existing_output_untouched(plain: Path, wrap: list[LocalKeyWrapper],
                                                        unwrap: Unwrappers) -> None:
    sealed, out = plain.with_suffix(".cnsec"), plain.with_suffix(".out")
    encrypt_file(str(plain), str(sealed), wrap, {"tenant": "acme"})
    out.write_bytes(b"previous")
    with pytest.raises(WrongContextError):
        decrypt_file(str(sealed), str(out), unwrap, {"tenant": "other"})
    assert out.read_bytes() == b"previous"


def test_output_cannot_overwrite_input(plain: Path, wrap: list[LocalKeyWrapper]) -> None:
    with pytest.raises(UsageError, match="overwrite the input"):
        encrypt_file(str(plain), str(plain), wrap)


def test_rewrap_moves_to_the_primary_version_and_keeps_chunks(
        plain: Path, ring: Keyring, wrap: list[LocalKeyWrapper], unwrap: Unwrappers) -> None:
    sealed, out = plain.with_suffix(".cnsec"), plain.with_suffix(".out")
    encrypt_file(str(plain), str(sealed), wrap)
    before = sealed.read_bytes()
    ring.rotate("app")
    old, new = rewrap_file(str(sealed), unwrap, lambda h, used: [LocalKeyWrapper(ring, "app")])
    after = sealed.read_bytes()
    assert (old.stanzas[0]["version"], new.stanzas[0]["version"]) == (1, 2)
    assert before[old.header_size:] == after[len(after) - (len(before) - old.header_size):]
    ring.set_min_decryption_version("app", 2)
    decrypt_file(str(sealed), str(out), unwrap)
    assert out.read_bytes() == plain.read_bytes()


def test_a_plaintext_temp_file_left_by_a_killed_decrypt_is_removed_by_the_next_one(
        tmp_path: Path, wrap: list[LocalKeyWrapper], unwrap: Unwrappers) -> None:
    import fcntl

    src = tmp_path / "data.bin"
    src.write_bytes(b"plain" * 100)
    encrypt_file(str(src), str(tmp_path / "data.bin.cnsec"), wrap)
    out = tmp_path / "out.bin"
    stale = tmp_path / ".out.bin.k1ll3d9x.tmp"  # what atomic_writer leaves when kill -9 stops it
    stale.write_bytes(b"plain")
    live = tmp_path / ".out.bin.st1llup0.tmp"  # another decrypt, still writing
    live.write_bytes(b"plain")
    with live.open("rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        decrypt_file(str(tmp_path / "data.bin.cnsec"), str(out), unwrap)
        assert live.exists()
    assert not stale.exists()
    assert out.read_bytes() == src.read_bytes()
    assert out.stat().st_mode & 0o777 == 0o600
