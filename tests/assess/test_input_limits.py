"""Hostile sizes and odd file systems (issue #13): stdin capped like files, unreadable folders
reported, file names that cannot forge stderr lines, one large file costs linear work."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cnsec.assess import inventory
from cnsec.assess.inventory import Inventory, load_inventory
from tests.assess.conftest import write
from tests.assess.test_assess_cli import PRIVILEGED_POD as POD

Run = Callable[..., tuple[int, str, str]]


class _Huge(io.RawIOBase):
    """A stdin of ``size`` bytes that counts what was read from it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.served = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self.size - self.served)
        buffer[:n] = b"#" * n
        self.served += n
        return n


def test_stdin_larger_than_the_file_cap_is_refused_without_reading_it_all(
        run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = _Huge(8 << 20)
    monkeypatch.setattr(inventory, "MAX_FILE_BYTES", 1 << 20)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BufferedReader(raw)))
    code, _, err = run_cli("assess", "-", "-f", "json")
    assert code == 2
    assert "<stdin>: input is larger than 1 MiB; skipped" in err
    assert raw.served <= (1 << 20) + (1 << 17)


def _unreadable(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Listing ``path`` fails as it does without the permission (the tests run as root: chmod does not bite)."""
    real = os.scandir

    def scandir(top: str) -> Iterator[os.DirEntry[str]]:
        if Path(top) == path:
            raise PermissionError(13, "Permission denied", top)
        return real(top)

    monkeypatch.setattr(inventory.os, "scandir", scandir)


def test_an_unreadable_folder_is_reported_by_assess(tmp_path: Path, run_cli: Run,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "ok" / "pod.yaml", POD)
    write(tmp_path / "locked" / "pod.yaml", POD)
    _unreadable(tmp_path / "locked", monkeypatch)
    _, out, err = run_cli("assess", str(tmp_path), "-f", "json", "--fail-on", "none")
    data = json.loads(out)
    assert data["summary"]["resources"] == 1
    assert data["errors"] == [{"file": str(tmp_path / "locked"), "line": None,
                               "message": "cannot read folder: Permission denied; skipped"}]
    assert "locked: cannot read folder" in err


def test_an_unreadable_folder_is_reported_by_iam_audit(tmp_path: Path, run_cli: Run,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "ok" / "role.yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
                                         "metadata:\n  name: reader\nrules: []\n")
    write(tmp_path / "locked" / "role.yaml", "kind: ClusterRole\n")
    _unreadable(tmp_path / "locked", monkeypatch)
    _, out, err = run_cli("iam", "audit", str(tmp_path), "-f", "json", "--fail-on", "none")
    assert any(e["file"] == str(tmp_path / "locked") and "cannot read folder" in e["message"]
               for e in json.loads(out)["errors"])
    assert "locked: cannot read folder" in err


def test_a_newline_in_a_file_name_cannot_forge_a_line_on_stderr(tmp_path: Path, run_cli: Run) -> None:
    write(tmp_path / "a\ncnsec: all clear.yaml", "a: [\n")
    write(tmp_path / "pod.yaml", POD)
    _, _, err = run_cli("assess", str(tmp_path), "-f", "json", "--fail-on", "none")
    assert "a\\ncnsec: all clear.yaml" in err
    assert not any(line.startswith("cnsec: all clear") for line in err.splitlines())


def test_the_waiver_search_reads_a_large_file_once_not_once_per_resource() -> None:
    searched = []

    class Text(str):
        def __contains__(self, needle: object) -> bool:
            searched.append(needle)
            return super().__contains__(needle)

    inv = Inventory(root="")
    inv.texts["big.yaml"] = Text("---\n".join([POD] * 500))
    assert not any(inv.mentions("big.yaml", "cnsec:ignore") for _ in range(500))
    assert len(searched) == 1


def test_documents_between_and_after_bad_ones_are_loaded_with_their_own_lines(tmp_path: Path) -> None:
    docs = [POD.replace("name: debug", f"name: p{i}") for i in range(3)]
    write(tmp_path / "s.yaml", "---\n".join([docs[0], "a: [\n", docs[1], "b: {\n", docs[2]]))
    inv = load_inventory([str(tmp_path)], workers=1)
    assert [(r.name, r.line) for r in inv.k8s] == [("p0", 1), ("p1", 15), ("p2", 29)]
    assert [p.line for p in inv.problems] == [13, 27]
