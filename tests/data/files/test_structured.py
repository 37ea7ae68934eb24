from __future__ import annotations

import json

import pytest
import yaml

from cnsec.data.crypto.errors import NotSealedError, TamperedDataError, WrongContextError
from cnsec.data.crypto.keyring import Keyring
from cnsec.data.crypto.providers import LocalKeyWrapper, Unwrappers
from cnsec.data.files import structured
from cnsec.data.files.structured import (
    VALUES_VERSION,
    compile_only,
    decrypt_values,
    detect_format,
    encrypt_values,
    read_meta,
    rewrap_values,
)
from cnsec.errors import InputError, UsageError

YAML = """\
# database settings (kept readable)
db:
  user: admin   # who connects
  password: "s3cr:et"
  port: 5432
  notes: |
    line one
    line two
hosts: [a.example, 'b.example', {name: c}]
anchor: &shared hello
alias: *shared
empty:
"""


def test_yaml_keys_and_comments_stay_readable(wrap: list[LocalKeyWrapper]) -> None:
    sealed = encrypt_values(YAML, "yaml", wrap)
    assert "# database settings (kept readable)" in sealed
    assert "# who connects" in sealed
    assert "  password: ENC[AES256_GCM," in sealed
    for secret in ("admin", "s3cr:et", "5432", "line one", "hello"):
        assert secret not in sealed


def test_yaml_round_trip_restores_the_exact_text(wrap: list[LocalKeyWrapper], unwrap: Unwrappers) -> None:
    assert decrypt_values(encrypt_values(YAML, "yaml", wrap), "yaml", unwrap) == YAML


def test_encrypted_yaml_is_still_valid_yaml(wrap: list[LocalKeyWrapper]) -> None:
    loaded = yaml.safe_load(encrypt_values(YAML, "yaml", wrap))
    assert set(loaded) == {"db", "hosts", "anchor", "alias", "empty", "cnsec"}
    assert loaded["hosts"][2]["name"].startswith("ENC[")


def test_only_patterns_seal_just_the_matching_paths(wrap: list[LocalKeyWrapper], unwrap: Unwrappers) -> None:
    sealed = encrypt_values(YAML, "yaml", wrap, only=["password", "/db/notes"])
    assert "user: admin" in sealed and "port: 5432" in sealed
    assert "s3cr:et" not in sealed and "line one" not in sealed
    assert decrypt_values(sealed, "yaml", unwrap) == YAML


def test_only_glob_semantics() -> None:
    match = compile_only(["/db/*", "**/token", "key_?"])
    assert match("/db/password") and not match("/db/x/y")
    assert match("/a/b/token") and match("/token")
    assert match("/x/key_1") and not match("/x/key_12")


def test_swapping_two_sealed_values_is_detected(wrap: list[LocalKeyWrapper], unwrap: Unwrappers) -> None:
    sealed = encrypt_values("a: one\nb: two\n", "yaml", wrap)
    lines = sealed.split("\n")
    a, b = lines[0].split(": ", 1)[1], lines[1].split(": ", 1)[1]
    lines[0], lines[1] = "a: " + b, "b: " + a
    with pytest.raises(TamperedDataError, match="value at /a fails authentication"):
        decrypt_values("\n".join(lines), "yaml", unwrap)


def test_removing_a_value_is_detected_by_the_mac(wrap: list[LocalKeyWrapper], unwrap: Unwrappers) -> None:
    sealed = encrypt_values("a: one\nb: two\nc: three\n", "yaml", wrap)
    without_b = "\n".join(line for line in sealed.split("\n") if not line.startswith("b: "))
    with pytest.raises(TamperedDataError, match="MAC does not match"):
        decrypt_values(without_b, "yaml", unwrap)


def test_changing_a_clear_value_is_detected_by_the_mac(wrap: list[LocalKeyWrapper], unwrap: Unwrappers) -> None:
    sealed = encrypt_values("user: admin\npassword: pw\n", "yaml", wrap, only=["password"])
    with pytest.raises(TamperedDataError, match="MAC"):
        decrypt_values(sealed.replace("user: admin", "user: root"), "yaml", unwrap)


def test_wrong_context_is_reported_for_values(wrap: list[LocalKeyWrapper], unwrap: Unwrappers) -> None:
    sealed = encrypt_values("a: 1\n", "yaml", wrap, {"env": "prod"})
    with pytest.raises(WrongContextError):
        decrypt_values(sealed, "yaml", unwrap, {"env": "dev"})


def test_encrypting_twice_is_refused(wrap: list[LocalKeyWrapper]) -> None:
    with pytest.raises(UsageError, match="already encrypted"):
        encrypt_values(encrypt_values("a: 1\n", "yaml", wrap), "yaml", wrap)


def test_plain_yaml_is_not_a_sealed_document(unwrap: Unwrappers) -> None:
    with pytest.raises(NotSealedError, match="not a per-value encrypted file"):
        decrypt_values("a: 1\n", "yaml", unwrap)


def test_top_level_list_is_refused(wrap: list[LocalKeyWrapper]) -> None:
    with pytest.raises(InputError, match="top-level block mapping"):
        encrypt_values("- a\n- b\n", "yaml", wrap)


def test_several_documents_are_refused(wrap: list[LocalKeyWrapper]) -> None:
    with pytest.raises(InputError, match="one YAML document"):
        encrypt_values("a: 1\n---\nb: 2\n", "yaml", wrap)


def test_broken_yaml_names_the_line(wrap: list[LocalKeyWrapper]) -> None:
    with pytest.raises(InputError) as info:
        encrypt_values("a: 1\nb: [unclosed\n", "yaml", wrap, source_name="x.yaml")
    assert str(info.value).startswith("x.yaml:")


def test_file_without_trailing_newline_round_trips(wrap: list[LocalKeyWrapper], unwrap: Unwrappers) -> None:
    assert decrypt_values(encrypt_values("a: 1", "yaml", wrap), "yaml", unwrap) == "a: 1"


def test_json_values_keep_their_types(wrap: list[LocalKeyWrapper], unwrap: Unwrappers) -> None:
    doc = {"a": {"b": [1, 2.5, True, None, "x"]}, "c": "s"}
    sealed = encrypt_values(json.dumps(doc), "json", wrap)
    assert json.loads(sealed)["c"].startswith("ENC[")
    assert json.loads(decrypt_values(sealed, "json", unwrap)) == doc


def test_json_moved_value_is_detected(wrap: list[LocalKeyWrapper], unwrap: Unwrappers) -> None:
    data = json.loads(encrypt_values('{"a": "1", "b": "2"}', "json", wrap))
    data["a"], data["b"] = data["b"], data["a"]
    with pytest.raises(TamperedDataError, match="/a"):
        decrypt_values(json.dumps(data), "json", unwrap)


ENV = "# app\nexport DB_URL=postgres://u:p@h/db\nTOKEN='abc def' \n\nEMPTY=\n"


def test_env_round_trip_keeps_comments_and_exports(wrap: list[LocalKeyWrapper], unwrap: Unwrappers) -> None:
    sealed = encrypt_values(ENV, "env", wrap)
    assert sealed.startswith("# app\nexport DB_URL=ENC[")
    assert "postgres" not in sealed
    assert decrypt_values(sealed, "env", unwrap) == ENV


def test_env_line_that_is_not_key_value_is_an_input_error(wrap: list[LocalKeyWrapper]) -> None:
    with pytest.raises(InputError) as info:
        encrypt_values("A=1\nthis is not\n", "env", wrap, source_name=".env")
    assert str(info.value).startswith(".env:2:")


def test_rewrap_values_changes_only_the_key_stanza(ring: Keyring, wrap: list[LocalKeyWrapper],
                                                    unwrap: Unwrappers) -> None:
    sealed = encrypt_values(YAML, "yaml", wrap)
    ring.rotate("app")
    new_text, old, new = rewrap_values(sealed, "yaml", unwrap, lambda used: [LocalKeyWrapper(ring, "app")])
    assert (old["stanzas"][0]["version"], new["stanzas"][0]["version"]) == (1, 2)
    assert new_text.split("cnsec:")[0] == sealed.split("cnsec:")[0]
    assert read_meta(new_text, "yaml")["mac"] == old["mac"]
    assert decrypt_values(new_text, "yaml", unwrap) == YAML


@pytest.mark.parametrize(("name", "fmt"), [("a.yaml", "yaml"), ("b.yml", "yaml"), ("c.json", "json"),
                                           (".env", "env"), ("prod.env", "env"), (".env.local", "env")])
def test_format_is_detected_from_the_name(name: str, fmt: str) -> None:
    assert detect_format(name) == fmt


def test_ten_thousand_values_encrypt_and_decrypt(wrap: list[LocalKeyWrapper], unwrap: Unwrappers) -> None:
    text = "".join(f"key{i}:\n  user: u{i}\n  password: p{i}\n" for i in range(5000))
    sealed = encrypt_values(text, "yaml", wrap)
    assert sealed.count("ENC[") == 10000
    assert decrypt_values(sealed, "yaml", unwrap) == text


@pytest.mark.parametrize("text", ["---\na: 1\n", "a: 1\n...\n", "a: 1\n...\n# after the end\n",
                                  "a: 1\r\nb: |\r\n  x\r\n", "a: 1\n# trailing comment\n"])
def test_document_markers_and_line_endings_round_trip(text: str, wrap: list[LocalKeyWrapper],
                                                      unwrap: Unwrappers) -> None:
    sealed = encrypt_values(text, "yaml", wrap)
    assert yaml.safe_load(sealed)["cnsec"]["version"] == VALUES_VERSION
    assert decrypt_values(sealed, "yaml", unwrap) == text


ALIASED = """\
prod: &prod
  host: db.prod
  password: prod-pass-1
test: &test
  host: db.test
  password: test-pass-2
app:
  db: *prod
  port: "8080"
"""


@pytest.mark.parametrize(("before", "after"), [
    ("db: *prod", "db: *test"),                                 # another anchor's values
    ("  port: \"8080\"", "  <<: *test\n  port: \"8080\""),      # a merge key added
    ("prod: &prod", "prod: &test"),                             # anchors swapped ...
    ("test: &test", "test: &prod"),
    ("  port: \"8080\"", "  port: 8080"),                        # a clear string made a number
    ("  port: \"8080\"", "  port: !!binary \"8080\""),           # a tag added
])
def test_yaml_with_a_changed_alias_anchor_merge_key_or_tag_fails_to_decrypt(
        before: str, after: str, wrap: list[LocalKeyWrapper], unwrap: Unwrappers) -> None:
    sealed = encrypt_values(ALIASED, "yaml", wrap, only=["password"])
    assert decrypt_values(sealed, "yaml", unwrap) == ALIASED
    assert before in sealed
    tampered = sealed.replace(before, after, 1) if before != "test: &test" else \
        sealed.replace("prod: &prod", "prod: &test").replace("test: &test", "test: &prod")
    with pytest.raises(TamperedDataError):
        decrypt_values(tampered, "yaml", unwrap)


def test_a_format_1_file_without_aliases_still_decrypts(wrap: list[LocalKeyWrapper], unwrap: Unwrappers,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(structured, "VALUES_VERSION", 1)
    sealed = encrypt_values(YAML.replace("&shared ", "").replace("*shared", "hello"), "yaml", wrap)
    monkeypatch.undo()
    assert yaml.safe_load(sealed)["cnsec"]["version"] == 1
    assert decrypt_values(sealed, "yaml", unwrap).startswith("# database settings")


def test_a_format_1_file_with_an_alias_is_refused_as_unverifiable(
        wrap: list[LocalKeyWrapper], unwrap: Unwrappers, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(structured, "VALUES_VERSION", 1)
    sealed = encrypt_values(ALIASED, "yaml", wrap, only=["password"])
    monkeypatch.undo()
    with pytest.raises(TamperedDataError, match="alias at /app/db"):
        decrypt_values(sealed.replace("*prod", "*test"), "yaml", unwrap)


@pytest.mark.parametrize(("fmt", "text", "line"), [
    ("yaml", "db:\n  password: first\n  user: app\n  password: second\n", 4),
    ("env", "PASSWORD=first\nUSER=app\nPASSWORD=second\n", 3),
    ("json", '{\n  "password": "first",\n  "user": "app",\n  "password": "second"\n}\n', 4),
])
def test_a_key_given_twice_is_refused_at_its_second_line(fmt: str, text: str, line: int,
                                                         wrap: list[LocalKeyWrapper]) -> None:
    with pytest.raises(InputError, match="appears twice") as err:
        encrypt_values(text, fmt, wrap, source_name="values")
    assert err.value.source is not None
    assert err.value.source.line == line
