"""Kill ``cnsec data rewrap`` with SIGKILL half-way: every file is still old or new, and decrypts."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from cnsec.data.crypto.keyring import Keyring, MasterKey
from cnsec.data.crypto.providers import LocalKeyUnwrapper, LocalKeyWrapper, Unwrappers
from cnsec.data.crypto.stream import open_bytes, read_header, seal_bytes

FILES = 200


def _version(path: Path) -> int:
    with path.open("rb") as handle:
        return int(read_header(handle)[0].stanzas[0]["version"])  # type: ignore[arg-type]


def test_rewrap_killed_mid_way_leaves_every_file_decryptable(tmp_path: Path) -> None:
    secret = os.urandom(32)
    master = MasterKey("raw", secret)
    ring_path = tmp_path / "keyring.json"
    with Keyring.edit(ring_path, master) as ring:
        ring.create("app")
    payloads: dict[Path, bytes] = {}
    wrapper = [LocalKeyWrapper(ring, "app")]
    for i in range(FILES):
        path = tmp_path / f"f{i:03}.cnsec"
        payloads[path] = os.urandom(256 * 1024)
        path.write_bytes(seal_bytes(payloads[path], wrapper, chunk_size=65536))
    with Keyring.edit(ring_path, master) as ring:
        ring.rotate("app")

    env = dict(os.environ, CNSEC_KEYRING=str(ring_path), CNSEC_MASTER_KEY=base64.b64encode(secret).decode())
    env.pop("CNSEC_PASSPHRASE", None)
    proc = subprocess.Popen([sys.executable, "-m", "cnsec", "data", "rewrap", *map(str, payloads)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = next(iter(payloads))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None and _version(first) == 1:
        time.sleep(0.002)
    time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "rewrap finished before it could be killed"

    versions = [_version(p) for p in payloads]
    assert 1 in versions and 2 in versions  # killed part-way through
    unwrap = Unwrappers([LocalKeyUnwrapper(Keyring.open(ring_path, master))])
    for path, data in payloads.items():
        assert open_bytes(path.read_bytes(), unwrap) == data, path
    assert all(p.name.endswith(".tmp") for p in tmp_path.iterdir()
               if p not in payloads and p.name not in ("keyring.json", "keyring.json.lock"))
