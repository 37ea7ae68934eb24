"""``cnsec data`` used carelessly: wrong keys, wrong context, damaged or foreign files, odd paths.

Every failure is one line on stderr and exit 2, names the file, never shows key material, plaintext
or context values, and never leaves a partial or clobbered output file behind.
"""

from __future__ import annotations

import base64
import io
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from cnsec.cli import main

Run = Callable[..., tuple[int, str, str]]
PLAINTEXT = b"top secret plaintext: the launch code is 0000\n"
SECRET_VALUE = "hunter2-Pa55w0rd"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh keyring and master key; returns the master key (to check it never leaks)."""
    master = base64.b64encode(os.urandom(32)).decode()
    monkeypatch.setenv("CNSEC_KEYRING", str(tmp_path / "ring" / "keyring.json"))
    monkeypatch.setenv("CNSEC_MASTER_KEY", master)
    monkeypatch.delenv("CNSEC_PASSPHRASE", raising=False)
    monkeypatch.chdir(tmp_path)
    return master


@pytest.fixture
def sealed(env: str, run_cli: Run, tmp_path: Path) -> Path:
    """plain.txt sealed under key 'app' with context tenant=acme."""
    assert run_cli("data", "keys", "create", "app")[0] == 0
    (tmp_path / "plain.txt").write_bytes(PLAINTEXT)
    code, _, err = run_cli("data", "encrypt", "plain.txt", "--key", "app", "--context", "tenant=acme")
    assert code == 0, err
    return tmp_path / "plain.txt.cnsec"


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("cnsec: ") and "Traceback" not in err, err
    return err


def no_leak(text: str, *secrets: str) -> None:
    for secret in (PLAINTEXT.decode().strip(), SECRET_VALUE, *secrets):
        assert secret not in text


# -- master key and keyring ----------------------------------------------------------------------
def test_missing_master_key_names_the_variables_to_set(sealed: Path, run_cli: Run,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CNSEC_MASTER_KEY")
    code, _, err = run_cli("data", "decrypt", str(sealed), "-o", "out.txt", "--context", "tenant=acme")
    assert code == 2
    assert "CNSEC_MASTER_KEY" in one_line(err) and "CNSEC_PASSPHRASE" in err
    assert not Path("out.txt").exists()


@pytest.mark.parametrize(("value", "expected"), [
    ("!!!not base64!!!", "not valid base64"),
    (base64.b64encode(b"short").decode(), "must decode to 32 bytes"),
], ids=["not-base64", "too-short"])
def test_malformed_master_key_is_a_clear_error_that_does_not_echo_it(
        sealed: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch, value: str, expected: str) -> None:
    monkeypatch.setenv("CNSEC_MASTER_KEY", value)
    code, _, err = run_cli("data", "decrypt", str(sealed), "-o", "out.txt", "--context", "tenant=acme")
    assert code == 2 and expected in one_line(err)
    assert value not in err


def test_wrong_master_key_fails_to_open_the_keyring_and_writes_nothing(
        sealed: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch, env: str) -> None:
    other = base64.b64encode(os.urandom(32)).decode()
    monkeypatch.setenv("CNSEC_MASTER_KEY", other)
    code, out, err = run_cli("data", "decrypt", str(sealed), "-o", "out.txt", "--context", "tenant=acme")
    assert code == 2 and "wrong master key" in one_line(err)
    assert not Path("out.txt").exists()
    no_leak(out + err, env, other)


@pytest.mark.parametrize("content", [b"{garbage", b"\xff\xfe\x00", b"[]", b'{"format": "cnsec.keyring/v1"}', b""],
                         ids=["not-json", "binary", "json-array", "fields-missing", "empty"])
def test_corrupt_keyring_is_a_clear_error(sealed: Path, run_cli: Run, env: str, content: bytes) -> None:
    ring = Path(os.environ["CNSEC_KEYRING"])
    ring.write_bytes(content)
    code, _, err = run_cli("data", "keys", "list")
    assert code == 2 and "keyring" in one_line(err) and ("damaged" in err or "not a cnsec keyring" in err)


def test_keyring_path_that_is_a_directory_is_a_clear_error(env: str, run_cli: Run, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CNSEC_KEYRING", str(tmp_path))
    code, _, err = run_cli("data", "keys", "list")
    assert code == 2 and "Is a directory" in one_line(err)


def test_keyring_under_a_regular_file_is_a_clear_error(env: str, run_cli: Run, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "afile").write_text("x")
    monkeypatch.setenv("CNSEC_KEYRING", str(tmp_path / "afile" / "keyring.json"))
    code, _, err = run_cli("data", "keys", "create", "app")
    assert code == 2 and "afile is not a directory" in one_line(err)


def test_new_keyring_refuses_a_short_passphrase(env: str, run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CNSEC_MASTER_KEY")
    monkeypatch.setenv("CNSEC_PASSPHRASE", "abc")
    code, _, err = run_cli("data", "keys", "create", "app")
    assert code == 2 and "too short" in one_line(err) and "abc" not in err
    assert not Path(os.environ["CNSEC_KEYRING"]).exists()


def test_new_keyring_accepts_a_long_passphrase(env: str, run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CNSEC_MASTER_KEY")
    monkeypatch.setenv("CNSEC_PASSPHRASE", "correct horse battery staple")
    code, out, err = run_cli("data", "keys", "create", "app")
    assert code == 0, err
    assert "correct horse" not in Path(os.environ["CNSEC_KEYRING"]).read_text() + out + err


def test_encrypting_with_an_unknown_key_writes_nothing(sealed: Path, run_cli: Run) -> None:
    code, _, err = run_cli("data", "encrypt", "plain.txt", "--key", "nokey", "-o", "x.cnsec")
    assert code == 2 and "no key named 'nokey'" in one_line(err)
    assert not Path("x.cnsec").exists()


# -- wrong, foreign or damaged input -------------------------------------------------------------
def test_decrypting_a_file_that_is_not_sealed_says_so(sealed: Path, run_cli: Run) -> None:
    code, _, err = run_cli("data", "decrypt", "plain.txt", "-o", "out.txt")
    assert code == 2 and "plain.txt: not a cnsec sealed file" in one_line(err)
    assert not Path("out.txt").exists()


def test_decrypting_a_one_byte_file_says_it_is_not_sealed(sealed: Path, run_cli: Run) -> None:
    Path("tiny.cnsec").write_bytes(b"a")
    code, _, err = run_cli("data", "decrypt", "tiny.cnsec")
    assert code == 2 and "not a cnsec sealed file" in one_line(err)


def test_decrypting_without_output_for_a_name_not_ending_in_cnsec_asks_for_o(sealed: Path, run_cli: Run) -> None:
    os.rename(sealed, "sealed.bin")
    code, _, err = run_cli("data", "decrypt", "sealed.bin", "--context", "tenant=acme")
    assert code == 2 and "-o" in one_line(err)


def test_wrong_context_fails_without_echoing_the_values_and_writes_nothing(sealed: Path, run_cli: Run) -> None:
    code, out, err = run_cli("data", "decrypt", str(sealed), "-o", "out.txt", "--context", "tenant=evilcorp")
    assert code == 2 and "wrong encryption context" in one_line(err) and "tenant" in err
    assert "evilcorp" not in err and "acme" not in err
    assert not Path("out.txt").exists()
    no_leak(out + err)


def test_missing_context_names_the_context_keys_needed(sealed: Path, run_cli: Run) -> None:
    code, _, err = run_cli("data", "decrypt", str(sealed), "-o", "out.txt")
    assert code == 2 and "[tenant]" in one_line(err) and "acme" not in err


@pytest.mark.parametrize("item", ["novalue", "=x"])
def test_malformed_context_is_a_usage_error(sealed: Path, run_cli: Run, item: str) -> None:
    code, _, err = run_cli("data", "decrypt", str(sealed), "-o", "out.txt", "--context", item)
    assert code == 2 and "KEY=VALUE" in one_line(err)


@pytest.mark.parametrize("keep", [60, -5, -1], ids=["inside-header", "last-bytes", "last-byte"])
def test_truncated_sealed_file_fails_and_leaves_no_plaintext(sealed: Path, run_cli: Run, keep: int) -> None:
    data = sealed.read_bytes()
    Path("cut.cnsec").write_bytes(data[:keep])
    code, out, err = run_cli("data", "decrypt", "cut.cnsec", "-o", "out.txt", "--context", "tenant=acme")
    assert code == 2 and "cut.cnsec:" in one_line(err) and "truncated" in err
    assert not Path("out.txt").exists()
    assert [p.name for p in Path().iterdir() if p.name.startswith(".out.txt")] == []
    no_leak(out + err)


def test_failed_decrypt_leaves_an_existing_output_file_untouched(sealed: Path, run_cli: Run) -> None:
    Path("cut.cnsec").write_bytes(sealed.read_bytes()[:-3])
    Path("out.txt").write_text("previous content\n")
    code, _, _ = run_cli("data", "decrypt", "cut.cnsec", "-o", "out.txt", "--context", "tenant=acme")
    assert code == 2
    assert Path("out.txt").read_text() == "previous content\n"


def test_decrypt_onto_an_existing_output_replaces_it_whole(sealed: Path, run_cli: Run) -> None:
    Path("out.txt").write_text("previous content that is longer than the plaintext, much longer\n" * 10)
    code, _, _ = run_cli("data", "decrypt", str(sealed), "-o", "out.txt", "--context", "tenant=acme")
    assert code == 0 and Path("out.txt").read_bytes() == PLAINTEXT


def test_default_decrypt_output_never_replaces_an_existing_file(sealed: Path, run_cli: Run) -> None:
    Path("plain.txt").write_text("a newer version of the file\n")
    code, _, err = run_cli("data", "decrypt", str(sealed), "--context", "tenant=acme")
    assert code == 2 and "plain.txt already exists" in one_line(err) and "-o" in err
    assert Path("plain.txt").read_text() == "a newer version of the file\n"


def test_default_encrypt_output_never_replaces_an_existing_sealed_file(sealed: Path, run_cli: Run) -> None:
    before = sealed.read_bytes()
    code, _, err = run_cli("data", "encrypt", "plain.txt", "--key", "app")
    assert code == 2 and "plain.txt.cnsec already exists" in one_line(err)
    assert sealed.read_bytes() == before


def test_explicit_output_replaces_an_existing_file(sealed: Path, run_cli: Run) -> None:
    code, _, err = run_cli("data", "decrypt", str(sealed), "-o", "plain.txt", "--context", "tenant=acme")
    assert code == 0, err
    assert Path("plain.txt").read_bytes() == PLAINTEXT


def test_output_onto_the_input_is_refused(sealed: Path, run_cli: Run) -> None:
    code, _, err = run_cli("data", "encrypt", "plain.txt", "--key", "app", "-o", "plain.txt")
    assert code == 2 and "overwrite the input" in one_line(err)
    assert Path("plain.txt").read_bytes() == PLAINTEXT


def test_output_into_a_missing_directory_is_a_clear_error(sealed: Path, run_cli: Run) -> None:
    code, _, err = run_cli("data", "decrypt", str(sealed), "-o", "no/such/dir/out.txt", "--context",
                           "tenant=acme")
    assert code == 2 and "cannot write" in one_line(err)


def test_encrypting_a_directory_is_a_clear_error(env: str, run_cli: Run, tmp_path: Path) -> None:
    run_cli("data", "keys", "create", "app")
    code, _, err = run_cli("data", "encrypt", str(tmp_path), "--key", "app", "-o", "x.cnsec")
    assert code == 2 and "is a directory" in one_line(err)


@pytest.mark.parametrize("size", ["0", "-1", "1", "99999999999"])
def test_out_of_range_chunk_size_is_a_usage_error(sealed: Path, run_cli: Run, size: str) -> None:
    code, _, err = run_cli("data", "encrypt", "plain.txt", "--key", "app", "-o", "c.cnsec", "--chunk-size", size)
    assert code == 2 and "chunk size" in one_line(err)
    assert not Path("c.cnsec").exists()


# -- stdin and stdout ----------------------------------------------------------------------------
def _stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))


def test_stdin_to_stdout_round_trip(sealed: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch,
                                    capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    _stdin(monkeypatch, sealed.read_bytes())
    code = main(["data", "decrypt", "-", "--context", "tenant=acme"])
    out, err = capsysbinary.readouterr()
    assert code == 0 and out == PLAINTEXT and err == b""


def test_truncated_sealed_data_on_stdin_is_an_error_naming_stdin(sealed: Path, run_cli: Run,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    _stdin(monkeypatch, sealed.read_bytes()[:50])
    code, _, err = run_cli("data", "decrypt", "-", "--context", "tenant=acme")
    assert code == 2 and "truncated" in one_line(err)


def test_plain_data_on_stdin_is_not_sealed(sealed: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    _stdin(monkeypatch, b"just some text\n" * 10)
    code, _, err = run_cli("data", "decrypt", "-")
    assert code == 2 and "not a cnsec sealed file" in one_line(err)


def test_values_from_non_utf8_stdin_are_a_clear_error(sealed: Path, run_cli: Run,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"a: \xff\n"), errors="surrogateescape"))
    code, _, err = run_cli("data", "encrypt", "-", "--values", "--format", "yaml", "--key", "app")
    assert code == 2 and "not UTF-8" in one_line(err)


def test_values_from_stdin_round_trip_to_stdout(sealed: Path, run_cli: Run,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    content = f"db:\r\n  password: {SECRET_VALUE}\r\n"
    _stdin(monkeypatch, content.encode())
    code, sealed_text, err = run_cli("data", "encrypt", "-", "--values", "--format", "yaml", "--key", "app")
    assert code == 0 and SECRET_VALUE not in sealed_text, err
    _stdin(monkeypatch, sealed_text.encode())
    code, out, err = run_cli("data", "decrypt", "-", "--values", "--format", "yaml")
    assert code == 0 and out == content, err


# -- inspect and rewrap --------------------------------------------------------------------------
def test_inspect_truncated_header_names_the_file(sealed: Path, run_cli: Run) -> None:
    Path("cut.cnsec").write_bytes(sealed.read_bytes()[:40])
    code, _, err = run_cli("data", "inspect", "cut.cnsec")
    assert code == 2 and "cut.cnsec:" in one_line(err) and "truncated" in err


def test_inspect_a_directory_says_it_is_a_directory(env: str, run_cli: Run, tmp_path: Path) -> None:
    code, _, err = run_cli("data", "inspect", str(tmp_path))
    assert code == 2 and "is a directory" in one_line(err)


def test_inspect_shows_context_keys_but_not_values(sealed: Path, run_cli: Run) -> None:
    code, out, _ = run_cli("data", "inspect", str(sealed), "-f", "json")
    assert code == 0 and "tenant" in out and "acme" not in out
    no_leak(out)


def test_rewrap_reports_missing_files_and_directories_and_still_rewraps_the_rest(
        sealed: Path, run_cli: Run) -> None:
    run_cli("data", "keys", "rotate", "app")
    code, out, err = run_cli("data", "rewrap", "missing.cnsec", str(sealed), str(Path.cwd()))
    assert code == 2
    assert "missing.cnsec: no such file" in err and "is a directory" in err
    assert "2 of 3 files could not be rewrapped" in err
    assert f"rewrapped {sealed}" in out
    assert "version=2" in run_cli("data", "inspect", str(sealed))[1].replace(" ", "")


def test_rewrap_of_a_plain_file_leaves_it_untouched(sealed: Path, run_cli: Run) -> None:
    code, _, err = run_cli("data", "rewrap", "plain.txt")
    assert code == 2 and "not a cnsec sealed file" in err
    assert Path("plain.txt").read_bytes() == PLAINTEXT


# -- per-value encryption ------------------------------------------------------------------------
def test_values_with_duplicate_json_keys_are_refused_rather_than_losing_one(sealed: Path, run_cli: Run) -> None:
    Path("dup.json").write_text(json.dumps({"password": "a"})[:-1] + f', "password": "{SECRET_VALUE}"}}')
    code, out, err = run_cli("data", "encrypt", "dup.json", "--values", "--key", "app", "-o", "dup.enc.json")
    assert code == 2 and "appears twice" in one_line(err)
    assert not Path("dup.enc.json").exists()
    no_leak(out + err)


def test_values_of_deeply_nested_json_are_an_error_not_a_traceback(sealed: Path, run_cli: Run) -> None:
    Path("deep.json").write_text('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}")
    code, _, err = run_cli("data", "encrypt", "deep.json", "--values", "--key", "app")
    assert code == 2 and "nested deeper" in one_line(err)


def test_values_of_non_utf8_file_are_a_clear_error(sealed: Path, run_cli: Run) -> None:
    Path("bin.yaml").write_bytes(b"a: \xff\n")
    code, _, err = run_cli("data", "encrypt", "bin.yaml", "--values", "--key", "app")
    assert code == 2 and "not UTF-8" in one_line(err)


def test_values_of_broken_yaml_name_the_line(sealed: Path, run_cli: Run) -> None:
    Path("bad.yaml").write_text(f"db:\n  password: {SECRET_VALUE}\n  user: [oops\n")
    code, out, err = run_cli("data", "encrypt", "bad.yaml", "--values", "--key", "app")
    assert code == 2 and "bad.yaml:" in one_line(err)
    no_leak(out + err)


def _sealed_values(run_cli: Run) -> str:
    Path("v.yaml").write_text(f"db:\n  password: {SECRET_VALUE}\n  user: admin\n")
    code, _, err = run_cli("data", "encrypt", "v.yaml", "--values", "--key", "app", "-o", "v.enc.yaml")
    assert code == 0, err
    return Path("v.enc.yaml").read_text()


def test_tampered_value_names_its_path_not_its_content(sealed: Path, run_cli: Run) -> None:
    text = _sealed_values(run_cli)
    Path("t.yaml").write_text(text.replace("password: ENC[AES256_GCM,data:", "password: ENC[AES256_GCM,data:AA", 1))
    Path("out.yaml").write_text("previous\n")
    code, out, err = run_cli("data", "decrypt", "t.yaml", "-o", "out.yaml")
    assert code == 2 and "/db/password" in one_line(err)
    assert Path("out.yaml").read_text() == "previous\n"
    no_leak(out + err)


def test_value_replaced_by_plaintext_fails_the_mac(sealed: Path, run_cli: Run) -> None:
    text = _sealed_values(run_cli)
    lines = [line if not line.startswith("  user:") else "  user: root" for line in text.splitlines()]
    Path("t.yaml").write_text("\n".join(lines) + "\n")
    code, out, err = run_cli("data", "decrypt", "t.yaml")
    assert code == 2 and "MAC" in one_line(err)
    no_leak(out + err)


def test_wrong_context_on_values_fails_without_output(sealed: Path, run_cli: Run) -> None:
    _sealed_values(run_cli)
    code, out, err = run_cli("data", "decrypt", "v.enc.yaml", "--context", "tenant=acme")
    assert code == 2 and "wrong encryption context" in one_line(err)
    assert out == ""


def test_values_json_report_of_inspect_is_valid_json(sealed: Path, run_cli: Run) -> None:
    _sealed_values(run_cli)
    code, out, _ = run_cli("data", "inspect", "v.enc.yaml", "-f", "json")
    assert code == 0 and json.loads(out)
    no_leak(out)


@pytest.mark.parametrize(("name", "content"), [
    ("bom.yaml", "\ufeffdb:\n  password: " + SECRET_VALUE + "\n  user: admin\n"),
    ("bom.env", "\ufeffPASSWORD=" + SECRET_VALUE + "\nUSER=admin\n"),
    ("crlf.yaml", "db:\r\n  password: " + SECRET_VALUE + "\r\n  user: admin\r\n"),
    ("crlf.env", "PASSWORD=" + SECRET_VALUE + "\r\nUSER=admin\r\n"),
], ids=["yaml-bom", "env-bom", "yaml-crlf", "env-crlf"])
def test_values_round_trip_byte_for_byte_with_bom_or_crlf(sealed: Path, run_cli: Run, name: str,
                                                          content: str) -> None:
    Path(name).write_bytes(content.encode())
    code, _, err = run_cli("data", "encrypt", name, "--values", "--key", "app", "-o", "enc-" + name)
    assert code == 0, err
    assert SECRET_VALUE not in Path("enc-" + name).read_text(encoding="utf-8")
    code, _, err = run_cli("data", "decrypt", "enc-" + name, "-o", "dec-" + name)
    assert code == 0, err
    assert Path("dec-" + name).read_bytes() == content.encode()


def test_values_json_with_a_bom_is_encrypted_and_decrypted(sealed: Path, run_cli: Run) -> None:
    Path("bom.json").write_bytes(b'\xef\xbb\xbf{"password": "' + SECRET_VALUE.encode() + b'"}')
    assert run_cli("data", "encrypt", "bom.json", "--values", "--key", "app", "-o", "enc.json")[0] == 0
    code, _, err = run_cli("data", "decrypt", "enc.json", "-o", "dec.json")
    assert code == 0, err
    assert json.loads(Path("dec.json").read_text(encoding="utf-8-sig")) == {"password": SECRET_VALUE}


@pytest.mark.parametrize("number", ["1e400", "-1e400", "NaN", "Infinity"])
def test_values_json_with_a_non_finite_number_is_refused_rather_than_turned_into_invalid_json(
        sealed: Path, run_cli: Run, number: str) -> None:
    Path("n.json").write_text('{"a": ' + number + "}")
    code, _, err = run_cli("data", "encrypt", "n.json", "--values", "--key", "app", "-o", "enc.json")
    assert code == 2 and "not finite" in one_line(err)
    assert not Path("enc.json").exists()


def test_rewrap_keeps_the_bom_of_a_values_file(sealed: Path, run_cli: Run) -> None:
    content = "\ufeffdb:\n  password: " + SECRET_VALUE + "\n"
    Path("v.yaml").write_text(content, encoding="utf-8")
    run_cli("data", "encrypt", "v.yaml", "--values", "--key", "app", "-o", "enc.yaml")
    run_cli("data", "keys", "rotate", "app")
    code, out, err = run_cli("data", "rewrap", "enc.yaml")
    assert code == 0 and "v2" in out, err
    assert run_cli("data", "decrypt", "enc.yaml", "-o", "dec.yaml")[0] == 0
    assert Path("dec.yaml").read_text(encoding="utf-8") == content


def test_values_of_yaml_with_control_characters_are_a_one_line_error(sealed: Path, run_cli: Run) -> None:
    Path("ctrl.yaml").write_text('a: "\t\x01"\n')
    code, _, err = run_cli("data", "encrypt", "ctrl.yaml", "--values", "--key", "app")
    assert code == 2 and "control characters" in one_line(err)


def test_values_with_emoji_round_trip_byte_for_byte(sealed: Path, run_cli: Run) -> None:
    content = 'a: 😀😀 x\nb: "é😀"\nk😀y: {n: "😀", m: [a, "😀"]}\nz: |\n  😀 line\n  two\n'
    Path("emo.yaml").write_text(content, encoding="utf-8")
    assert run_cli("data", "encrypt", "emo.yaml", "--values", "--key", "app", "-o", "enc.yaml")[0] == 0
    assert "😀 x" not in Path("enc.yaml").read_text(encoding="utf-8")
    assert run_cli("data", "decrypt", "enc.yaml", "-o", "dec.yaml")[0] == 0
    assert Path("dec.yaml").read_text(encoding="utf-8") == content


def test_values_only_pattern_matching_nothing_is_refused_instead_of_writing_plaintext(
        sealed: Path, run_cli: Run) -> None:
    Path("v.yaml").write_text(f"db:\n  password: {SECRET_VALUE}\n")
    code, out, err = run_cli("data", "encrypt", "v.yaml", "--values", "--key", "app", "--only", "passwrd",
                             "-o", "v.enc.yaml")
    assert code == 2 and "--only 'passwrd' matches no value" in one_line(err)
    assert not Path("v.enc.yaml").exists()
    no_leak(out + err)


def test_values_only_patterns_that_match_seal_just_those_values(sealed: Path, run_cli: Run) -> None:
    Path("v.yaml").write_text(f"db:\n  password: {SECRET_VALUE}\n  user: admin\n")
    code, out, err = run_cli("data", "encrypt", "v.yaml", "--values", "--key", "app", "--only", "password")
    assert code == 0, err
    assert SECRET_VALUE not in out and "user: admin" in out


def _with_header_body(sealed: Path, body: bytes) -> bytes:
    """The sealed file with its header JSON replaced (the header MAC no longer matches)."""
    import struct

    data = sealed.read_bytes()
    preamble = data[:8]
    (old_len,) = struct.unpack(">I", data[8:12])
    return preamble + struct.pack(">I", len(body)) + body + data[12 + old_len:]


@pytest.mark.parametrize("command", ["inspect", "rewrap", "decrypt"])
def test_sealed_header_with_a_non_object_stanza_is_reported_as_tampered(sealed: Path, run_cli: Run,
                                                                        command: str) -> None:
    import struct

    data = sealed.read_bytes()
    (old_len,) = struct.unpack(">I", data[8:12])
    header = json.loads(data[12:12 + old_len])
    header["stanzas"] = ["abc"]
    Path("bad.cnsec").write_bytes(_with_header_body(sealed, json.dumps(header).encode()))
    code, _, err = run_cli("data", command, "bad.cnsec", *(["-o", "out.txt"] if command == "decrypt" else []))
    assert code == 2 and "bad.cnsec" in err and "malformed" in err and "Traceback" not in err
    assert not Path("out.txt").exists()


def test_sealed_header_of_deeply_nested_json_is_reported_as_tampered(sealed: Path, run_cli: Run) -> None:
    Path("deep.cnsec").write_bytes(_with_header_body(sealed, b"[" * 50_000 + b"]" * 50_000))
    code, _, err = run_cli("data", "inspect", "deep.cnsec")
    assert code == 2 and "deep.cnsec:" in one_line(err) and "not valid JSON" in err


def test_values_metadata_with_a_non_object_stanza_is_reported_as_malformed(sealed: Path, run_cli: Run) -> None:
    text = _sealed_values(run_cli)
    head, _, _ = text.partition("  stanzas:\n")
    mac = next(line for line in text.splitlines() if line.startswith("  mac:"))
    Path("bad.yaml").write_text(head + "  stanzas: [abc]\n" + mac + "\n")
    for command in ("inspect", "rewrap", "decrypt"):
        code, _, err = run_cli("data", command, "bad.yaml")
        assert code == 2 and "metadata is malformed" in err and "Traceback" not in err, command


def test_inspect_shows_control_characters_in_a_received_header_as_visible_escapes(
        sealed: Path, run_cli: Run) -> None:
    import struct

    data = sealed.read_bytes()
    (old_len,) = struct.unpack(">I", data[8:12])
    header = json.loads(data[12:12 + old_len])
    header["stanzas"][0]["key"] = "app\x1b]0;pwned\x07"
    Path("odd.cnsec").write_bytes(_with_header_body(sealed, json.dumps(header).encode()))
    code, out, _ = run_cli("data", "inspect", "odd.cnsec")
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out and "pwned" in out
