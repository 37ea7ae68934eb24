from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from cnsec.data.crypto.keyring import Keyring, MasterKey
from cnsec.data.crypto.providers import LocalKeyUnwrapper, LocalKeyWrapper, Unwrappers


@pytest.fixture
def master() -> MasterKey:
    return MasterKey("raw", os.urandom(32))


@pytest.fixture
def ring(tmp_path: Path, master: MasterKey) -> Keyring:
    with Keyring.edit(tmp_path / "keyring.json", master) as keyring:
        keyring.create("app")
    return keyring


@pytest.fixture
def wrap(ring: Keyring) -> list[LocalKeyWrapper]:
    return [LocalKeyWrapper(ring, "app")]


@pytest.fixture
def unwrap(ring: Keyring) -> Unwrappers:
    return Unwrappers([LocalKeyUnwrapper(ring)])


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh keyring location and master key for CLI tests; returns the keyring path."""
    path = tmp_path / "ring" / "keyring.json"
    monkeypatch.setenv("CNSEC_KEYRING", str(path))
    monkeypatch.setenv("CNSEC_MASTER_KEY", base64.b64encode(os.urandom(32)).decode())
    monkeypatch.delenv("CNSEC_PASSPHRASE", raising=False)
    return path


