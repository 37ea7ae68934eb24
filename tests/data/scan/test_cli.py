# cnsec:ignore-file detector examples and test values are synthetic, never real credentials
"""`cnsec data scan` as a user runs it: formats, exit codes, baselines, config, tree walking, git."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from cnsec.cli import main

SECRET = "Zq8-Lw2!pX9#rT4v"
TOKEN = "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"


def _tree(tmp_path: Path) -> Path:
    (tmp_path / "app").mkdir(parents=True)
    (tmp_path / "app" / "settings.py").write_text(f'DB_PASSWORD = "{SECRET}"\nDEBUG = True\n')
    (tmp_path / "deploy.yaml").write_text(f"env:\n  - name: GH\n    value: {TOKEN}\n")
    return tmp_path


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object]]:
    code = main(["data", "scan", *argv, "-f", "json", "--fail-on", "none"])
    return code, json.loads(capsys.readouterr().out)


def test_json_findings_carry_detector_severity_source_fingerprint_and_preview(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, data = _json(capsys, str(_tree(tmp_path)))
    findings = data["findings"]
    assert isinstance(findings, list)
    got = {(f["detector"], f["asset_id"], f["source"]["line"]) for f in findings}
    assert got == {("generic-password", "app/settings.py", 1), ("github-token", "deploy.yaml", 3)}
    for f in findings:
        assert f["severity"] in ("high", "critical") and len(f["fingerprint"]) == 32 and "****" in f["preview"]


def test_report_never_contains_the_secret(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _tree(tmp_path)
    for fmt in ("json", "sarif", "markdown", "table"):
        main(["data", "scan", str(tmp_path), "-f", fmt, "--fail-on", "none"])
        out = capsys.readouterr().out
        assert SECRET not in out and TOKEN not in out and TOKEN[4:20] not in out


def test_fail_on_exits_one_when_a_finding_reaches_the_threshold(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    _tree(tmp_path)
    assert main(["data", "scan", str(tmp_path), "-f", "json", "--fail-on", "high"]) == 1
    capsys.readouterr()


def test_clean_tree_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "README.md").write_text("nothing to see\n")
    assert main(["data", "scan", str(tmp_path), "-f", "json"]) == 0
    capsys.readouterr()


def test_sarif_output_file_is_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _tree(tmp_path)
    out = tmp_path.parent / f"{tmp_path.name}.sarif"
    main(["data", "scan", str(tmp_path), "-o", str(out), "--fail-on", "none"])
    sarif = json.loads(out.read_text())
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} == {"generic-password", "github-token"}


def test_baseline_hides_known_findings_and_stores_no_secret(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    tree = _tree(tmp_path / "repo")
    baseline = tmp_path / "baseline.json"
    main(["data", "scan", str(tree), "--write-baseline", str(baseline), "-f", "json", "--fail-on", "none"])
    capsys.readouterr()
    assert SECRET not in baseline.read_text() and TOKEN not in baseline.read_text()
    (tree / "new.env").write_text("API_TOKEN=b035d48j9X2dfjF0hb9sd8Guf5hWu2ia\n")
    _, data = _json(capsys, str(tree), "--baseline", str(baseline))
    assert [f["asset_id"] for f in data["findings"]] == ["new.env"]


def test_baseline_survives_the_secret_moving_to_another_line(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    tree = _tree(tmp_path / "repo")
    baseline = tmp_path / "baseline.json"
    main(["data", "scan", str(tree), "--write-baseline", str(baseline), "-f", "json", "--fail-on", "none"])
    capsys.readouterr()
    settings = tree / "app" / "settings.py"
    settings.write_text("import os\n\n" + settings.read_text())
    _, data = _json(capsys, str(tree), "--baseline", str(baseline))
    assert data["findings"] == []


def test_gitignored_files_are_not_scanned(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree = _tree(tmp_path)
    (tree / ".gitignore").write_text("deploy.yaml\n")
    _, data = _json(capsys, str(tree))
    assert {f["asset_id"] for f in data["findings"]} == {"app/settings.py"}


def test_binary_and_oversized_files_are_skipped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01" + f"token = {TOKEN}".encode())
    (tmp_path / "big.txt").write_text(f"token = {TOKEN}\n" + "x" * 3000)
    _, data = _json(capsys, str(tmp_path), "--max-file-size", "1KB")
    assert data["findings"] == []
    assert data["summary"]["skipped_binary"] == 1 and data["summary"]["skipped_large"] == 1


def test_symlink_out_of_the_tree_is_not_followed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outside = tmp_path / "outside.env"
    outside.write_text(f"GH={TOKEN}\n")
    tree = tmp_path / "tree"
    tree.mkdir()
    os.symlink(outside, tree / "link.env")
    _, data = _json(capsys, str(tree))
    assert data["findings"] == []


def test_config_allowlist_path_suppresses_with_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree = _tree(tmp_path)
    (tree / ".cnsec.yaml").write_text("scan:\n  allowlist:\n    - path: deploy.yaml\n"
                                      "      reason: demo manifest, token revoked\n")
    _, data = _json(capsys, str(tree))
    by_file = {f["asset_id"]: f for f in data["findings"]}
    assert by_file["deploy.yaml"]["suppressed"] is True
    assert by_file["deploy.yaml"]["suppression_reason"] == "demo manifest, token revoked"
    assert by_file["app/settings.py"]["suppressed"] is False


def test_allowlist_entry_without_reason_is_a_config_error(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    tree = _tree(tmp_path)
    (tree / ".cnsec.yaml").write_text("scan:\n  allowlist:\n    - path: deploy.yaml\n")
    assert main(["data", "scan", str(tree)]) == 2
    assert "reason" in capsys.readouterr().err


def test_alias_bomb_in_the_config_is_refused_not_expanded(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    tree = _tree(tmp_path)
    lines, prev = ["a0: &a0 [" + ", ".join(["x"] * 10) + "]"], "a0"
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*{prev}"] * 10) + "]")
        prev = f"a{i}"
    (tree / ".cnsec.yaml").write_text("\n".join(lines) + f"\nscan:\n  exclude: *{prev}\n")
    assert main(["data", "scan", str(tree)]) == 2
    assert "aliases" in capsys.readouterr().err


def test_non_utf8_config_is_a_config_error_not_a_traceback(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    tree = _tree(tmp_path)
    (tree / ".cnsec.yaml").write_bytes(b"scan:\n  exclude: [\xff]\n")
    assert main(["data", "scan", str(tree)]) == 2
    assert "not UTF-8" in capsys.readouterr().err


def test_missing_path_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "scan", str(tmp_path / "nope")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_parallel_scan_gives_the_same_report_as_one_job(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    for i in range(40):
        (tmp_path / f"f{i:02}.env").write_text(f"API_TOKEN=b035d48j9X2dfjF0hb9sd8Guf{i:02}Wu2ia\n"
                                               + "filler line without anything\n" * 5000)
    _, one = _json(capsys, str(tmp_path), "-j", "1")
    _, many = _json(capsys, str(tmp_path), "-j", "2")
    assert one["findings"] == many["findings"] and len(one["findings"]) == 40


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@x"})


def test_staged_scans_only_added_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    _git(tmp_path, "init", "-q")
    (tmp_path / "old.env").write_text(f"GH={TOKEN}\n")
    _git(tmp_path, "add", "old.env")
    _git(tmp_path, "commit", "-q", "-m", "old")
    (tmp_path / "new.py").write_text(f'x = 1\nDB_PASSWORD = "{SECRET}"\n')
    _git(tmp_path, "add", "new.py")
    monkeypatch.chdir(tmp_path)
    _, data = _json(capsys, "--staged")
    assert [(f["asset_id"], f["source"]["line"]) for f in data["findings"]] == [("new.py", 2)]


def test_history_reports_the_commit_that_added_a_secret(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _git(tmp_path, "init", "-q")
    (tmp_path / "a.txt").write_text("hello\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "first")
    _git(tmp_path, "tag", "v1")
    (tmp_path / "a.txt").write_text(f"hello\nGH={TOKEN}\n")
    _git(tmp_path, "commit", "-q", "-am", "leak")
    sha = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True,
                         text=True, check=True).stdout.strip()
    _, data = _json(capsys, str(tmp_path), "--history", "--since", "v1")
    assert [(f["source"]["line"], f["commit"]) for f in data["findings"]] == [(2, sha)]


def test_large_file_is_streamed_in_chunks_with_correct_line_numbers(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from cnsec.data.scan import walker

    monkeypatch.setattr(walker, "CHUNK_SIZE", 1024)
    lines = [f"filler line number {i:05}" for i in range(2000)]
    lines[10] = f"GH={TOKEN}"
    lines[1500] = f'DB_PASSWORD="{SECRET}"'
    (tmp_path / "big.env").write_text("\n".join(lines) + "\n")
    _, data = _json(capsys, str(tmp_path))
    assert [f["source"]["line"] for f in data["findings"]] == [11, 1501]


def test_single_file_can_be_scanned(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree = _tree(tmp_path)
    _, data = _json(capsys, str(tree / "deploy.yaml"))
    assert [f["detector"] for f in data["findings"]] == ["github-token"]


def test_since_without_history_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "scan", "--since", "v1"]) == 2
    assert "--history" in capsys.readouterr().err


def test_subdirectory_scan_locates_files_from_the_working_directory(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    _tree(tmp_path / "sub")
    monkeypatch.chdir(tmp_path)
    _, data = _json(capsys, "sub")
    by_asset = {f["asset_id"]: f["source"]["file"] for f in data["findings"]}
    assert by_asset == {"app/settings.py": "sub/app/settings.py", "deploy.yaml": "sub/deploy.yaml"}


def test_a_secret_repeated_on_three_lines_is_reported_three_times(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "deploy.sh").write_text(f"export A={TOKEN}\necho hi\nexport B={TOKEN}\nexport C={TOKEN}\n")
    _, data = _json(capsys, str(tmp_path))
    findings = data["findings"]
    assert isinstance(findings, list)
    assert [(f["source"]["line"], f["occurrence"]) for f in findings] == [(1, 1), (3, 2), (4, 3)]
    assert len({f["id"] for f in findings}) == 3 and len({f["fingerprint"] for f in findings}) == 1
    assert "(2 of 3 lines)" in findings[1]["title"]


def test_the_first_occurrence_keeps_the_id_a_baseline_of_one_finding_has(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "repo" / "deploy.sh"
    script.parent.mkdir()
    script.write_text(f"export A={TOKEN}\n")
    baseline = tmp_path / "baseline.json"
    main(["data", "scan", str(script.parent), "--write-baseline", str(baseline), "-f", "json", "--fail-on", "none"])
    capsys.readouterr()
    script.write_text(f"export A={TOKEN}\nexport B={TOKEN}\n")
    _, data = _json(capsys, str(script.parent), "--baseline", str(baseline))
    findings = data["findings"]
    assert isinstance(findings, list)
    assert [f["source"]["line"] for f in findings] == [2]
