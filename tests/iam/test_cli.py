from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from cnsec.cli import main
from tests.iam.conftest import GOOD_PW

SHOP = str(Path(__file__).parent / "fixtures" / "rbac" / "shop.yaml")


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch, fast_ph: object):  # type: ignore[no-untyped-def]
    from cnsec.iam import passwords

    monkeypatch.setenv("CNSEC_DB", db_url)
    monkeypatch.setattr(passwords, "hasher", lambda *a, **k: fast_ph)

    def run(*argv: str, stdin: str = "") -> int:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        return main(["iam", *argv])

    assert run("init") == 0
    return run


def test_can_exits_0_for_allow_and_1_for_deny_with_the_rule(cli, capsys) -> None:  # type: ignore[no-untyped-def]
    cli("roles", "add", "auditor", "--allow", "findings:read", "--allow", "reports:*", "--deny", "keys:*")
    assert cli("users", "add", "mary", "--role", "admin", "--role", "auditor", "--password-stdin",
               stdin=GOOD_PW + "\n") == 0
    capsys.readouterr()
    assert cli("can", "mary", "delete", "keys/app-data") == 1
    assert "deny keys:*" in capsys.readouterr().out
    assert cli("can", "mary", "read", "findings/1") == 0


def test_login_prints_the_access_token_first(cli, capsys) -> None:  # type: ignore[no-untyped-def]
    cli("users", "add", "mary", "--password-stdin", stdin=GOOD_PW + "\n")
    capsys.readouterr()
    assert cli("login", "mary", "--password-stdin", stdin=GOOD_PW + "\n") == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.count(".") == 2 and GOOD_PW not in first


def test_login_json_gives_both_tokens(cli, capsys) -> None:  # type: ignore[no-untyped-def]
    cli("users", "add", "mary", "--password-stdin", stdin=GOOD_PW + "\n")
    capsys.readouterr()
    cli("login", "mary", "--password-stdin", "-f", "json", stdin=GOOD_PW + "\n")
    data = json.loads(capsys.readouterr().out)
    assert data["access_token"] and data["refresh_token"]


def test_weak_password_exits_2_naming_the_rule(cli, capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli("users", "add", "bob", "--password-stdin", stdin="password123\n") == 2
    err = capsys.readouterr().err
    assert "min-length" in err and "password123" not in err


def test_seed_file_import_is_refused_per_user_with_lines(cli, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seed = tmp_path / "users.yaml"
    seed.write_text("- username: alice\n  password: password123\n  role: admin\n"
                    "- username: bob\n  password: password123\n  role: admin\n")
    assert cli("users", "import", str(seed)) == 2
    err = capsys.readouterr().err
    assert f"{seed}:1:" in err and f"{seed}:4:" in err
    cli("users", "list", "-f", "json")
    assert json.loads(capsys.readouterr().out) == []


def test_wrong_password_exits_1(cli) -> None:  # type: ignore[no-untyped-def]
    cli("users", "add", "mary", "--password-stdin", stdin=GOOD_PW + "\n")
    assert cli("login", "mary", "--password-stdin", stdin="not the password at all\n") == 1


def test_disable_and_revoke(cli, capsys) -> None:  # type: ignore[no-untyped-def]
    cli("users", "add", "john", "--password-stdin", stdin=GOOD_PW + "\n")
    assert cli("users", "disable", "john") == 0
    assert cli("tokens", "revoke", "--user", "john") == 0
    assert "revoked" in capsys.readouterr().out


def test_mfa_enable_prints_an_otpauth_uri(cli, capsys) -> None:  # type: ignore[no-untyped-def]
    cli("users", "add", "mary", "--password-stdin", stdin=GOOD_PW + "\n")
    capsys.readouterr()
    assert cli("mfa", "enable", "mary") == 0
    assert "otpauth://totp/cnsec:mary?secret=" in capsys.readouterr().out


def test_k8s_can_exits_0_or_1(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["iam", "can", "system:serviceaccount:shop:vault-sync", "get", "secrets", SHOP, "-n", "shop"]) == 0
    assert main(["iam", "can", "system:serviceaccount:shop:api", "create", "pods/exec", SHOP, "-n", "shop"]) == 1


def test_who_can_json_lists_subjects(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["iam", "who-can", "get", "secrets", "-n", "shop", SHOP, "-f", "json"]) == 0
    subjects = json.loads(capsys.readouterr().out)["subjects"]
    assert {"kind": "ServiceAccount", "name": "vault-sync", "namespace": "shop"} in [s["subject"] for s in subjects]


def test_audit_json_names_subject_binding_and_role(capsys) -> None:  # type: ignore[no-untyped-def]
    main(["iam", "audit", SHOP, "-f", "json", "--fail-on", "none"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    secret = next(f for f in findings if f["check_id"] == "CNSEC-RBAC-003")
    assert secret["subject"] == {"kind": "ServiceAccount", "name": "vault-sync", "namespace": "shop"}
    assert secret["binding"]["name"] == "vault-sync-secrets" and secret["role"]["name"] == "secret-reader"
    assert secret["severity"] == "high" and secret["permission"].startswith("get,list on secrets")


def test_rbac_questions_on_input_nothing_could_be_read_from_are_input_errors(capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "rbac.json"
    bad.write_text('{"kind": "ClusterRole", "rules": ' + "[" * 1000 + "]" * 1000 + "}")
    assert main(["iam", "audit", str(bad), "-f", "json"]) == 2
    out = capsys.readouterr()
    assert json.loads(out.out)["errors"][0]["file"] == str(bad)  # the report is still written
    assert main(["iam", "can", "alice", "get", "pods", str(bad)]) == 2
    assert "nothing could be read" in capsys.readouterr().err
    assert main(["iam", "audit", str(bad), SHOP, "-f", "json", "--fail-on", "none"]) == 0  # partial: kept


def test_seed_file_under_a_users_key_reports_lines_of_its_entries(cli, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seed = tmp_path / "users.yaml"
    seed.write_text("# seed\nusers:\n  - username: alice\n    password: password123\n    role: admin\n")
    assert cli("users", "import", str(seed)) == 2
    assert f"{seed}:3:" in capsys.readouterr().err


def test_seed_file_with_invalid_yaml_names_the_line(cli, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seed = tmp_path / "users.yaml"
    seed.write_text("- username: alice\n  password: [unclosed\n")
    assert cli("users", "import", str(seed)) == 2
    err = capsys.readouterr().err
    assert f"{seed}:" in err and "invalid YAML" in err and "Traceback" not in err


def test_log_shows_terminal_escapes_from_a_login_name_as_visible_text(cli, capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli("login", "\x1b]0;pwned\x07eve", "--password-stdin", stdin="whatever it is\n") == 1
    capsys.readouterr()
    assert cli("log") == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "subject=\\x1b]0;pwned\\x07eve" in out


def test_who_can_text_shows_terminal_escapes_from_a_manifest_as_visible_text(capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    manifest = tmp_path / "rbac.yaml"
    manifest.write_text(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: b}\n"
        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\n"
        'subjects: [{kind: User, name: "ev\\e]0;pwned\\ail"}]\n')
    assert main(["iam", "who-can", "get", "secrets", str(manifest)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "ev\\x1b]0;pwned\\x07il" in out


def test_seed_file_that_is_not_utf8_is_an_input_error_with_its_line(cli, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seed = tmp_path / "users.yaml"
    seed.write_bytes(b"- username: alice\n  password: caf\xe9 au lait tous les jours\n")
    assert cli("users", "import", str(seed)) == 2
    err = capsys.readouterr().err
    assert f"{seed}:2:" in err and "UTF-8" in err and "Traceback" not in err


def test_seed_file_with_a_key_given_twice_in_one_entry_is_refused(cli, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seed = tmp_path / "users.yaml"
    seed.write_text("- username: alice\n  password: a fine long passphrase\n  role: viewer\n  role: admin\n")
    assert cli("users", "import", str(seed)) == 2
    assert f"{seed}:4: duplicate key 'role'" in capsys.readouterr().err
    cli("users", "list", "-f", "json")
    assert json.loads(capsys.readouterr().out) == []


def test_tokens_verify_reads_the_token_from_stdin_with_token_dash(cli, capsys) -> None:  # type: ignore[no-untyped-def]
    cli("users", "add", "mary", "--password-stdin", stdin=GOOD_PW + "\n")
    capsys.readouterr()
    cli("login", "mary", "--password-stdin", stdin=GOOD_PW + "\n")
    token = capsys.readouterr().out.splitlines()[0]
    assert cli("tokens", "verify", "--token", "-", stdin=token + "\n") == 0
    assert "valid: mary" in capsys.readouterr().out


def test_log_verify_prints_the_head_and_expect_head_finds_a_cut_tail(cli, capsys, db_url: str) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    from cnsec.store.engine import get_engine

    cli("users", "add", "mary", "--password-stdin", stdin=GOOD_PW + "\n")
    capsys.readouterr()
    assert cli("log", "--verify", "-f", "json") == 0
    head = json.loads(capsys.readouterr().out)["head"]
    cli("users", "add", "john", "--password-stdin", stdin=GOOD_PW + "\n")
    assert cli("log", "--verify", "--expect-head", head) == 0
    engine = get_engine(db_url)
    on = " ON iam_audit_log" if engine.dialect.name == "postgresql" else ""
    with engine.begin() as conn:
        conn.execute(text(f"DROP TRIGGER iam_audit_log_no_delete{on}"))
        conn.execute(text("DELETE FROM iam_audit_log WHERE id = (SELECT max(id) FROM iam_audit_log)"))
        conn.execute(text("DELETE FROM iam_audit_log WHERE id = (SELECT max(id) FROM iam_audit_log)"))
    capsys.readouterr()
    assert cli("log", "--verify", "--expect-head", head) == 1
    assert "cut off the end" in capsys.readouterr().out
    assert cli("log", "--expect-head", head) == 1, "--expect-head alone implies --verify (its --help says so)"
    assert "cut off the end" in capsys.readouterr().out


def test_log_verify_on_a_dropped_audit_table_says_so_without_a_traceback(cli, capsys, db_url: str) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    from cnsec.store.engine import get_engine

    with get_engine(db_url).begin() as conn:
        conn.execute(text("DROP TABLE iam_audit_log"))
    capsys.readouterr()
    assert cli("log", "--verify") == 1
    assert "cannot be read (table dropped?)" in capsys.readouterr().out
    assert cli("log") == 2
    assert "iam_audit_log" in capsys.readouterr().err


def test_users_list_on_an_uninitialised_store_is_a_clear_error(capsys, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CNSEC_DB", f"sqlite:///{tmp_path / 'new.db'}")
    assert main(["iam", "users", "list"]) == 2
    assert "cnsec iam init" in capsys.readouterr().err


def test_users_list_on_an_unreachable_database_is_a_clear_error(capsys, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for url in (f"postgresql://cnsec:secret-pw@127.0.0.1:{port}/cnsec", f"sqlite:///{tmp_path}/file/x/y.db"):
        if url.startswith("sqlite"):
            (tmp_path / "file").write_text("a file where a folder should be")
        monkeypatch.setenv("CNSEC_DB", url)
        assert main(["iam", "users", "list"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("cnsec: ") and "Traceback" not in err and "secret-pw" not in err


def test_a_replayed_totp_code_is_refused_saying_it_was_already_used(cli, capsys) -> None:  # type: ignore[no-untyped-def]
    import re
    import time

    import pyotp

    cli("users", "add", "mary", "--password-stdin", stdin=GOOD_PW + "\n")
    assert cli("mfa", "enable", "mary") == 0
    secret = re.search(r"secret=([A-Z2-7]+)", capsys.readouterr().out).group(1)  # type: ignore[union-attr]
    totp = pyotp.TOTP(secret)
    assert cli("mfa", "confirm", "mary", totp.at(time.time())) == 0
    code = totp.at(time.time() + 30)  # the next step: within the drift allowed, not used yet
    assert cli("login", "mary", "--password-stdin", "--totp", code, stdin=GOOD_PW + "\n") == 0
    capsys.readouterr()
    assert cli("login", "mary", "--password-stdin", "--totp", code, stdin=GOOD_PW + "\n") == 1
    err = capsys.readouterr().err
    assert "already used" in err and "Traceback" not in err
