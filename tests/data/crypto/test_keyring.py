from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from cnsec.data.crypto.errors import KeyringError, KeyVersionDisabledError, WrongKeyError
from cnsec.data.crypto.keyring import Keyring, MasterKey, default_keyring_path
from cnsec.errors import UsageError

LOW_ARGON = {"t": 1, "m": 8192, "p": 1}


def test_keyring_file_never_holds_key_material_in_clear(ring: Keyring) -> None:
    raw = ring.path.read_bytes()
    material = ring.get("app").primary_version.material
    assert material not in raw
    assert base64.b64encode(material) not in raw
    assert b"app" not in raw  # even key names are inside the sealed part


def test_keyring_file_is_private(ring: Keyring) -> None:
    assert stat.S_IMODE(ring.path.stat().st_mode) == 0o600


def test_reopened_keyring_has_the_same_keys(ring: Keyring, master: MasterKey) -> None:
    again = Keyring.open(ring.path, master)
    assert again.get("app").primary_version.material == ring.get("app").primary_version.material


def test_wrong_master_key_cannot_open_keyring(ring: Keyring) -> None:
    with pytest.raises(KeyringError, match="wrong master key"):
        Keyring.open(ring.path, MasterKey("raw", os.urandom(32)))


def test_modified_keyring_file_is_refused(ring: Keyring, master: MasterKey) -> None:
    text = ring.path.read_text()
    ring.path.write_text(text.replace('"ciphertext": "', '"ciphertext": "AAAA', 1))
    with pytest.raises(KeyringError):
        Keyring.open(ring.path, master)


def test_rotate_adds_a_primary_version_and_keeps_the_old_one(ring: Keyring, master: MasterKey) -> None:
    with Keyring.edit(ring.path, master) as edited:
        edited.rotate("app")
    key = Keyring.open(ring.path, master).get("app")
    assert key.primary == 2
    assert sorted(key.versions) == [1, 2]
    assert key.version(1).material != key.version(2).material


def test_min_decryption_version_disables_older_versions(ring: Keyring, master: MasterKey) -> None:
    with Keyring.edit(ring.path, master) as edited:
        edited.rotate("app")
        edited.set_min_decryption_version("app", 2)
    key = Keyring.open(ring.path, master).get("app")
    with pytest.raises(KeyVersionDisabledError, match="min_decryption_version"):
        key.version(1)


def test_min_decryption_version_cannot_exceed_primary(ring: Keyring) -> None:
    with pytest.raises(UsageError):
        ring.set_min_decryption_version("app", 5)


def test_duplicate_key_name_is_refused(ring: Keyring) -> None:
    with pytest.raises(UsageError, match="already exists"):
        ring.create("app")


def test_invalid_key_name_is_refused(ring: Keyring) -> None:
    with pytest.raises(UsageError, match="invalid key name"):
        ring.create("../evil")


def test_unknown_key_is_a_wrong_key_error(ring: Keyring) -> None:
    with pytest.raises(WrongKeyError, match="no key named"):
        ring.get("nope")


def test_passphrase_keyring_uses_argon2id_and_reopens(tmp_path: Path) -> None:
    master = MasterKey("passphrase", b"correct horse battery staple")
    path = tmp_path / "k.json"
    with Keyring.edit(path, master, argon2=LOW_ARGON) as ring:
        ring.create("k")
    assert '"alg": "argon2id"' in path.read_text()
    assert Keyring.open(path, master).get("k").primary == 1


def test_wrong_passphrase_cannot_open_keyring(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    with Keyring.edit(path, MasterKey("passphrase", b"right"), argon2=LOW_ARGON) as ring:
        ring.create("k")
    with pytest.raises(KeyringError, match="wrong master key or passphrase"):
        Keyring.open(path, MasterKey("passphrase", b"wrong"))


def test_passphrase_keyring_asks_for_passphrase_not_master_key(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    with Keyring.edit(path, MasterKey("passphrase", b"pw"), argon2=LOW_ARGON) as ring:
        ring.create("k")
    with pytest.raises(KeyringError, match="set CNSEC_PASSPHRASE"):
        Keyring.open(path, MasterKey("raw", os.urandom(32)))


def test_downgraded_argon2_cost_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    with Keyring.edit(path, MasterKey("passphrase", b"pw"), argon2=LOW_ARGON) as ring:
        ring.create("k")
    path.write_text(path.read_text().replace('"m": 8192', '"m": 8'))
    with pytest.raises(KeyringError, match="outside the accepted range"):
        Keyring.open(path, MasterKey("passphrase", b"pw"))


def test_master_key_must_be_32_bytes_of_base64() -> None:
    with pytest.raises(KeyringError, match="32 bytes"):
        MasterKey.from_env({"CNSEC_MASTER_KEY": base64.b64encode(b"short").decode()})


def test_missing_master_key_explains_both_variables() -> None:
    with pytest.raises(KeyringError, match=r"CNSEC_MASTER_KEY .* or CNSEC_PASSPHRASE"):
        MasterKey.from_env({})


def test_keyring_path_follows_cnsec_keyring_then_xdg_data_home() -> None:
    assert default_keyring_path({"CNSEC_KEYRING": "/x/k.json"}) == Path("/x/k.json")
    assert default_keyring_path({"XDG_DATA_HOME": "/d"}) == Path("/d/cnsec/keyring.json")


def test_save_leaves_no_temp_files(ring: Keyring) -> None:
    ring.save()
    leftovers = [p.name for p in ring.path.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_a_keyring_readable_by_others_is_used_with_a_warning(ring: Keyring, master: MasterKey,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    ring.path.chmod(0o666)
    assert "app" in Keyring.open(ring.path, master).keys
    err = capsys.readouterr().err
    assert "accessible to group or others (mode 0666)" in err and "chmod 600" in err


def test_a_private_keyring_opens_without_a_warning(ring: Keyring, master: MasterKey,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    Keyring.open(ring.path, master)
    assert capsys.readouterr().err == ""


def test_rotating_a_symlinked_keyring_writes_through_to_its_target(ring: Keyring, master: MasterKey,
                                                                   tmp_path: Path) -> None:
    link = tmp_path / "link" / "keyring.json"
    link.parent.mkdir()
    link.symlink_to(ring.path)
    with Keyring.edit(link, master) as edited:
        edited.rotate("app")
    assert link.is_symlink()
    assert Keyring.open(ring.path, master).get("app").primary == 2
