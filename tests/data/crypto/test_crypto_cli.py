from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def keyed(cli_env: Path, run_cli: Run) -> Run:
    assert run_cli("data", "keys", "create", "app-data")[0] == 0
    return run_cli


@pytest.fixture
def backup(tmp_path: Path) -> Path:
    path = tmp_path / "backup.tar"
    path.write_bytes(os.urandom(200_000))
    return path


def test_keys_create_rotate_list(keyed: Run) -> None:
    assert keyed("data", "keys", "rotate", "app-data")[0] == 0
    code, out, _ = keyed("data", "keys", "list", "-f", "json")
    key = json.loads(out)["keys"][0]
    assert code == 0
    assert (key["name"], key["versions"], key["primary"], key["min_decryption_version"]) == \
        ("app-data", [1, 2], 2, 1)


def test_keys_list_table_shows_columns(keyed: Run) -> None:
    code, out, _ = keyed("data", "keys", "list")
    assert code == 0 and "MIN_DECRYPT" in out and "app-data" in out


def test_encrypt_then_decrypt_with_context(keyed: Run, backup: Path) -> None:
    sealed, out = str(backup) + ".cnsec", str(backup) + ".out"
    assert keyed("data", "encrypt", str(backup), "-o", sealed, "--key", "app-data",
                 "--context", "tenant=acme")[0] == 0
    assert keyed("data", "decrypt", sealed, "-o", out, "--context", "tenant=acme")[0] == 0
    assert Path(out).read_bytes() == backup.read_bytes()


def test_decrypt_default_output_strips_the_suffix(keyed: Run, backup: Path) -> None:
    keyed("data", "encrypt", str(backup), "--key", "app-data")
    data = backup.read_bytes()
    backup.unlink()
    assert keyed("data", "decrypt", str(backup) + ".cnsec")[0] == 0
    assert backup.read_bytes() == data


@pytest.mark.parametrize(("mutate", "message"), [
    ("context", "wrong encryption context"),
    ("chunk", "fails authentication"),
    ("truncate", "truncated"),
    ("header", "header"),
])
def test_each_failure_exits_2_with_its_own_message(keyed: Run, backup: Path, mutate: str,
                                                    message: str) -> None:
    sealed, out = Path(str(backup) + ".cnsec"), Path(str(backup) + ".out")
    keyed("data", "encrypt", str(backup), "-o", str(sealed), "--key", "app-data", "-c", "t=1")
    data = bytearray(sealed.read_bytes())
    context = "t=1"
    if mutate == "context":
        context = "t=2"
    elif mutate == "chunk":
        data[-100] ^= 1
    elif mutate == "truncate":
        del data[-5000:]
    else:  # the last byte of the header's MAC
        data[json.loads(keyed("data", "inspect", str(sealed), "-f", "json")[1])["header_size"] - 1] ^= 1
    sealed.write_bytes(bytes(data))
    code, _, err = keyed("data", "decrypt", str(sealed), "-o", str(out), "-c", context)
    assert code == 2
    assert message in err and "Traceback" not in err
    assert err.count("\n") == 1
    assert not out.exists()


def test_wrong_master_key_exits_2(keyed: Run, backup: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sealed = str(backup) + ".cnsec"
    keyed("data", "encrypt", str(backup), "-o", sealed, "--key", "app-data")
    monkeypatch.setenv("CNSEC_MASTER_KEY", "A" * 43 + "=")
    code, _, err = keyed("data", "decrypt", sealed, "-o", str(backup) + ".out")
    assert code == 2 and "wrong master key" in err


def test_inspect_shows_header_without_keys(keyed: Run, backup: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sealed = str(backup) + ".cnsec"
    keyed("data", "encrypt", str(backup), "-o", sealed, "--key", "app-data", "-c", "tenant=acme")
    monkeypatch.delenv("CNSEC_MASTER_KEY")
    code, out, _ = keyed("data", "inspect", sealed, "-f", "json")
    info = json.loads(out)
    assert code == 0
    assert (info["format_version"], info["key_name"], info["key_version"], info["context_keys"],
            info["chunk_size"]) == (1, "app-data", 1, ["tenant"], 1 << 20)
    assert "acme" not in out


def test_rewrap_then_min_version_keeps_files_readable(keyed: Run, backup: Path, tmp_path: Path) -> None:
    sealed = str(backup) + ".cnsec"
    values = tmp_path / "secrets.yaml"
    values.write_text("db:\n  password: hunter2\n")
    keyed("data", "encrypt", str(backup), "-o", sealed, "--key", "app-data")
    keyed("data", "encrypt", str(values), "--values", "-o", str(tmp_path / "s.enc.yaml"), "--key", "app-data")
    keyed("data", "keys", "rotate", "app-data")
    code, out, _ = keyed("data", "rewrap", sealed, str(tmp_path / "s.enc.yaml"))
    assert code == 0 and out.count("v1 -> local key 'app-data' v2") == 2
    assert keyed("data", "keys", "set-min-version", "app-data", "2")[0] == 0
    assert keyed("data", "decrypt", sealed, "-o", str(tmp_path / "b.out"))[0] == 0
    code, out, _ = keyed("data", "decrypt", str(tmp_path / "s.enc.yaml"))
    assert code == 0 and out == "db:\n  password: hunter2\n"


def test_rewrap_of_a_values_file_that_cannot_be_written_is_one_error_line(
        keyed: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    values = tmp_path / "secrets.yaml"
    values.write_text("db:\n  password: hunter2\n")
    keyed("data", "encrypt", str(values), "--values", "-o", str(tmp_path / "s.enc.yaml"), "--key", "app-data")
    keyed("data", "keys", "rotate", "app-data")

    def refuse(*_: object, **__: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("cnsec.fsutil.atomic_writer", refuse)
    code, _, err = keyed("data", "rewrap", str(tmp_path / "s.enc.yaml"))
    assert code == 2
    assert "s.enc.yaml: cannot rewrite: Permission denied" in err and "Traceback" not in err


def _sealed_values(keyed: Run, src: Path, *options: str) -> Path:
    """``src`` encrypted with ``--values`` under the app-data key, beside it as ``NAME.enc.yaml``."""
    enc = src.with_suffix(".enc.yaml")
    assert keyed("data", "encrypt", str(src), "--values", "-o", str(enc), "--key", "app-data", *options)[0] == 0
    return enc


def test_values_round_trip_through_the_cli(keyed: Run, tmp_path: Path) -> None:
    src = tmp_path / "secrets.yaml"
    src.write_text("# keep me\napi:\n  token: abc123\n  url: https://x\n")
    enc = _sealed_values(keyed, src, "--only", "token")
    text = enc.read_text()
    assert "# keep me" in text and "url: https://x" in text and "abc123" not in text
    code, out, _ = keyed("data", "decrypt", str(enc), "--values")
    assert code == 0 and out == src.read_text()


def test_a_values_file_whose_alias_was_swapped_exits_2_without_plaintext(keyed: Run, tmp_path: Path) -> None:
    src = tmp_path / "values.yaml"
    src.write_text("prod: &prod\n  password: prod-pw-71\ntest: &test\n  password: test-pw-72\napp: *prod\n")
    enc = _sealed_values(keyed, src, "--only", "password")
    enc.write_text(enc.read_text().replace("app: *prod", "app: *test"))
    code, out, err = keyed("data", "decrypt", str(enc), "--values")
    assert code == 2 and "MAC does not match" in err
    assert "pw-7" not in out + err


def test_a_values_file_with_a_key_given_twice_exits_2_with_its_line(keyed: Run, tmp_path: Path) -> None:
    src = tmp_path / "values.yaml"
    src.write_text("db:\n  password: a1\n  password: b2\n")
    code, _, err = keyed("data", "encrypt", str(src), "--values", "-o", str(tmp_path / "o.yaml"),
                         "--key", "app-data")
    assert code == 2 and f"{src}:3" in err and "appears twice" in err
    assert not (tmp_path / "o.yaml").exists()


def test_recipient_sharing_needs_no_keyring(cli_env: Path, run_cli: Run, backup: Path,
                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    identity = tmp_path / "id.txt"
    code, recipient, _ = run_cli("data", "keys", "keypair", "-o", str(identity))
    assert code == 0 and recipient.startswith("age1")
    monkeypatch.delenv("CNSEC_MASTER_KEY")
    sealed = str(backup) + ".cnsec"
    assert run_cli("data", "encrypt", str(backup), "-o", sealed, "-r", recipient.strip())[0] == 0
    assert run_cli("data", "decrypt", sealed, "-o", str(tmp_path / "o"), "-i", str(identity))[0] == 0
    assert (tmp_path / "o").read_bytes() == backup.read_bytes()
    code, _, err = run_cli("data", "decrypt", sealed, "-o", str(tmp_path / "o2"))
    assert code == 2 and "x25519 recipient" in err


def test_encrypt_without_a_key_is_a_usage_error(cli_env: Path, run_cli: Run, backup: Path) -> None:
    code, _, err = run_cli("data", "encrypt", str(backup))
    assert code == 2 and "--key" in err


def test_bad_context_syntax_is_a_usage_error(keyed: Run, backup: Path) -> None:
    code, _, err = keyed("data", "encrypt", str(backup), "--key", "app-data", "-c", "novalue")
    assert code == 2 and "KEY=VALUE" in err


def test_missing_input_file_is_an_input_error(keyed: Run, tmp_path: Path) -> None:
    code, _, err = keyed("data", "encrypt", str(tmp_path / "nope"), "--key", "app-data")
    assert code == 2 and "nope" in err


def test_rewrap_leaves_current_files_unchanged(keyed: Run, backup: Path) -> None:
    sealed = Path(str(backup) + ".cnsec")
    keyed("data", "encrypt", str(backup), "-o", str(sealed), "--key", "app-data")
    before = sealed.read_bytes()
    code, out, _ = keyed("data", "rewrap", str(sealed))
    assert code == 0 and "unchanged" in out
    assert sealed.read_bytes() == before


def test_rewrap_reports_each_bad_file_and_carries_on(keyed: Run, backup: Path, tmp_path: Path) -> None:
    sealed = str(backup) + ".cnsec"
    keyed("data", "encrypt", str(backup), "-o", sealed, "--key", "app-data")
    keyed("data", "keys", "rotate", "app-data")
    plain = tmp_path / "notes.txt"
    plain.write_text("hello")
    code, out, err = keyed("data", "rewrap", str(plain), sealed)
    assert code == 2
    assert "not a cnsec sealed file" in err and "1 of 2 files" in err
    assert "rewrapped" in out


def test_inspect_of_a_plain_file_says_it_is_not_sealed(keyed: Run, tmp_path: Path) -> None:
    plain = tmp_path / "notes.txt"
    plain.write_text("hello")
    code, _, err = keyed("data", "inspect", str(plain))
    assert code == 2 and "not a cnsec sealed file" in err


def test_stdin_to_stdout_round_trip(keyed: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import io
    import sys

    data = b"streamed from a pipe\n" * 500

    class FakeStdin:
        buffer = io.BufferedReader(io.BytesIO(data))  # type: ignore[arg-type]

    monkeypatch.setattr(sys, "stdin", FakeStdin)
    sealed = tmp_path / "s.cnsec"
    assert keyed("data", "encrypt", "-", "-o", str(sealed), "--key", "app-data")[0] == 0
    code, out, _ = keyed("data", "decrypt", str(sealed), "-o", "-")
    assert code == 0 and out.encode() == data


def test_passphrase_keyring_works_end_to_end(cli_env: Path, run_cli: Run, backup: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CNSEC_MASTER_KEY")
    monkeypatch.setenv("CNSEC_PASSPHRASE", "correct horse battery staple")
    assert run_cli("data", "keys", "create", "pp")[0] == 0
    assert '"alg": "argon2id"' in cli_env.read_text()
    sealed = str(backup) + ".cnsec"
    assert run_cli("data", "encrypt", str(backup), "-o", sealed, "--key", "pp")[0] == 0
    monkeypatch.setenv("CNSEC_PASSPHRASE", "wrong horse")
    code, _, err = run_cli("data", "decrypt", sealed, "-o", str(backup) + ".out")
    assert code == 2 and "wrong master key or passphrase" in err


def test_recipient_only_file_is_left_alone_by_rewrap(cli_env: Path, run_cli: Run, backup: Path,
                                                     tmp_path: Path) -> None:
    code, recipient, _ = run_cli("data", "keys", "keypair", "-o", str(tmp_path / "id"))
    sealed = Path(str(backup) + ".cnsec")
    run_cli("data", "encrypt", str(backup), "-o", str(sealed), "-r", recipient.strip())
    before = sealed.read_bytes()
    code, out, _ = run_cli("data", "rewrap", str(sealed), "-i", str(tmp_path / "id"))
    assert code == 0 and "unchanged" in out and sealed.read_bytes() == before


def test_encrypt_values_without_a_key_uses_the_creation_rule_that_matches_the_file(
        keyed: Run, tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".cnsec.yaml").write_text(
        "data:\n  creation_rules:\n    - path: 'deploy/*.yaml'\n      keys: [app-data]\n"
        "      only: ['**/password']\n")
    (tmp_path / "deploy").mkdir()
    src = tmp_path / "deploy" / "secrets.yaml"
    src.write_text("db:\n  user: shop\n  password: hunter2\n")
    enc = tmp_path / "deploy" / "secrets.enc.yaml"
    code, _, err = keyed("data", "encrypt", str(src), "--values", "-o", str(enc))
    assert code == 0, err
    assert "app-data" in err and ".cnsec.yaml:3" in err
    sealed = enc.read_text()
    assert "hunter2" not in sealed and "user: shop" in sealed  # only the password is sealed
    code, out, _ = keyed("data", "decrypt", str(enc), "--values")
    assert code == 0 and "hunter2" in out


def test_encrypt_without_a_key_or_a_matching_rule_says_how_to_give_one(keyed: Run, tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".cnsec.yaml").write_text("data:\n  creation_rules:\n    - path: 'other/*'\n      keys: [x]\n")
    src = tmp_path / "secrets.yaml"
    src.write_text("password: hunter2\n")
    code, _, err = keyed("data", "encrypt", str(src), "--values")
    assert code == 2 and "creation_rules" in err and "hunter2" not in err


def test_a_creation_rule_without_keys_is_a_config_error_at_its_line(keyed: Run, tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".cnsec.yaml").write_text("data:\n  creation_rules:\n    - path: '*.yaml'\n")
    src = tmp_path / "secrets.yaml"
    src.write_text("password: hunter2\n")
    code, _, err = keyed("data", "encrypt", str(src), "--values")
    assert code == 2 and ".cnsec.yaml:3" in err and "keys or recipients" in err
