"""Precision filters: why a match that looks like a secret is not one.

Most false positives of secret scanners are placeholders (``changeme``, ``${DB_PASSWORD}``,
``<password>``, ``xxxx``), references to where the secret really lives (``os.environ["TOKEN"]``,
``config.password``), hashes and UUIDs, prose, and words that merely contain a keyword
(``passenger``, ``keyboard``). These functions are pure and cheap: they run only on prefiltered
candidate values, never on the whole input.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from functools import lru_cache

#: Values that are documentation, not secrets (compared lower-cased, whole value).
PLACEHOLDER_VALUES = frozenset({
    "password", "passwd", "pass", "pwd", "secret", "token", "key", "apikey", "api_key", "changeme",
    "change_me", "change-me", "changeit", "default", "example", "sample", "dummy", "placeholder", "null",
    "none", "nil", "undefined", "true", "false", "yes", "no", "empty", "redacted", "masked", "hidden",
    "secret_key", "secretkey", "mysecret", "mypassword", "my_password", "yourpassword", "your_password",
    "password1", "test", "testing", "admin", "root", "user", "username", "string", "str", "required",
    "optional", "todo", "tbd", "fixme", "xxx", "n/a", "na", "notset", "not_set", "unset", "value",
    "your-api-key", "your_api_key", "your-token", "your_token", "api-key", "access_token", "bearer",
    "basic", "private", "public", "secret-token", "insert_here", "enter", "<none>",
})

#: Substrings that mark a value as a placeholder wherever they appear in it.
PLACEHOLDER_PARTS = ("your_", "your-", "yourpass", "<your", "example", "placeholder", "changeme",
                     "change_me", "dummy", "fake", "redacted", "insert", "replace", "xxxx", "****",
                     "....", "sample_", "_here", "-here", "${", "{{", "<%", "%(", "#{", "@@", "lorem")

_PLACEHOLDER_PART = re.compile("|".join(re.escape(p) for p in PLACEHOLDER_PARTS))
_REFERENCE = re.compile(
    r"""^(?:
        \$\w|\$\{|\$\(|%\w+%|%\(|\{\{|<%|\#\{|@\{|\[\[        # shell, templates, batch, helm, erb
      | (?:os\.)?(?:environ|getenv|env)\b                    # environment lookups
      | process\.env | System\.getenv | ENV\[ | env\( | vault: | secret(?:s)?manager | ref\+
      | (?:self|this|cfg|conf|config|settings|options|opts|args|params|props|request|req|ctx)\.
      | \w+\( | new\s | :\w | \?$ | @\w
    )""", re.IGNORECASE | re.VERBOSE)
_IDENTIFIER_CHAIN = re.compile(r"^[A-Za-z_$][\w$]*(?:(?:\.|->|::)[A-Za-z_$][\w$]*)*(?:\(\)?|\[)?$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_NUMBERISH = re.compile(r"^(?:[\d\s.,:+\-_/]+|0x[0-9a-fA-F]+)$")
_PATHISH = re.compile(r"^(?:\.{0,2}/|~/|[A-Za-z]:\\)|^[\w.\-/]+\.(?:json|ya?ml|txt|pem|key|crt|cer|p12|pfx|"
                      r"jks|env|conf|cfg|ini|properties|xml|toml|gpg|asc|der|csr|sh|py|js|ts|html?)$",
                      re.IGNORECASE)
_TOKENISH = re.compile(r"^[A-Za-z0-9+=]+$")
_REPEAT = re.compile(r"(.)\1{5,}")
_SEQUENCES = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiop", "asdfghjkl")

#: Name parts that make an assignment a reference to a secret rather than the secret itself.
_KEY_NON_SECRET_SUFFIXES = (
    "file", "path", "dir", "url", "uri", "name", "type", "length", "len", "size", "policy", "field",
    "header", "prefix", "suffix", "format", "id", "ids", "ref", "env", "var", "hint", "label", "expiry",
    "expires", "expiration", "ttl", "timeout", "count", "min", "max", "mode", "enabled", "required",
    "regex", "pattern", "validator", "strength", "reset", "change", "changed", "confirm", "hash",
    "hashed", "digest", "checksum", "algorithm", "alg", "version", "location", "endpoint", "store",
    "provider", "manager", "service", "class", "kind", "schema", "rotation", "template", "placeholder",
    "message", "error", "label", "title", "description", "question", "prompt", "input", "button",
    "index", "column", "table", "key", "keys", "list", "set", "source", "selector", "bucket", "region",
)


def shannon_entropy(value: str) -> float:
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def is_placeholder(value: str) -> bool:
    low = value.lower().strip()
    if low in PLACEHOLDER_VALUES or len(set(low)) <= 2:
        return True
    if _PLACEHOLDER_PART.search(low):
        return True
    if low.startswith("<") and low.endswith(">"):
        return True
    if _REPEAT.search(low):
        return True
    return any(low in seq for seq in _SEQUENCES) and len(low) >= 4


def is_reference(value: str, *, quoted: bool, code: bool) -> bool:
    """``os.environ["X"]``, ``${X}``, ``config.password``: where the secret lives, not the secret."""
    if _REFERENCE.match(value):
        return True
    # an unquoted identifier (or attribute chain) in source code is a variable, not a literal
    return not quoted and code and bool(_IDENTIFIER_CHAIN.match(value))


def is_uuid(value: str) -> bool:
    return bool(_UUID.match(value))


def char_classes(value: str) -> int:
    """Lower, upper, digit, punctuation (``-_./`` are separators, not punctuation)."""
    lower = upper = digit = other = False
    for ch in value:
        if ch.islower():
            lower = True
        elif ch.isupper():
            upper = True
        elif ch.isdigit():
            digit = True
        elif ch not in "-_./ ":
            other = True
    return lower + upper + digit + other


def looks_like_secret_value(value: str, *, quoted: bool, code: bool, loose_separator: bool = False) -> bool:
    """The value test of the generic assignment detectors (after the key was found sensitive).

    ``loose_separator``: the name and value were separated by blanks only (``password hunter2``, prose
    style), so the value must look like a credential rather than a word: digits or punctuation.
    """
    v = value.strip()
    if len(v) < 6 or len(v) > 200:
        return False
    if is_reference(v, quoted=quoted, code=code) or is_placeholder(v) or is_uuid(v):
        return False
    if _NUMBERISH.match(v) or _PATHISH.match(v) or "://" in v:
        return False
    if " " in v:
        return False
    if v.endswith(":") or ("{" in v and "}" in v):  # a label, or a format-string template
        return False
    classes = char_classes(v)
    has_digit = any(ch.isdigit() for ch in v)
    has_digit_or_punct = has_digit or any(not ch.isalnum() and ch not in "-_./ " for ch in v)
    if (loose_separator and not has_digit) or (not quoted and not has_digit_or_punct):
        return len(v) >= 16 and bool(_TOKENISH.match(v)) and shannon_entropy(v) >= 3.5
    if classes >= 2:
        return True
    # one class only (all lower-case, all hex digits...): only long random-looking strings pass
    return len(v) >= 16 and bool(_TOKENISH.match(v)) and shannon_entropy(v) >= 3.5


@lru_cache(maxsize=4096)
def key_parts(key: str) -> tuple[str, ...]:
    """``MYSQL_DB-password`` -> (mysql, db, password); ``apiKey`` -> (api, key)."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", key.strip("\"'`[]{}()<>$@%:=-. \t"))
    return tuple(p for p in re.split(r"[\s_\-.:/\\\[\]\"']+", spaced.lower()) if p)


_PASSWORD_WORDS = frozenset({
    "password", "passwords", "passwd", "pass", "pwd", "pw", "pswd", "psswd", "pswrd", "psword", "psswrd", "pssword",
    "paswd", "paswrd", "pasword", "passwort", "passphrase", "passcode", "passworsd", "paasword",
    "pword", "userpass", "userpassword", "dbpass", "dbpassword", "rootpassword", "adminpassword",
    "pin", "비밀번호", "비번", "암호", "패스워드",
})
_PASSWORD_TAILS = ("password", "passwd", "pwd", "pswd", "passphrase", "passwort")
_NOT_PASSWORD = frozenset({"compass", "bypass", "passive", "passenger", "passengers", "passport",
                           "passthrough", "surpass", "trespass", "encompass", "overpass", "underpass",
                           "passage", "passed", "passes", "passing", "pwdump", "pwr"})
#: nginx hands a request on with ``proxy_pass upstream:9000;``: an address, not a password.
_NGINX_PASS = frozenset((p, "pass") for p in ("proxy", "fastcgi", "uwsgi", "scgi", "grpc", "memcached"))
_SECRET_WORDS = frozenset({"secret", "secrets", "secretkey", "clientsecret", "appsecret", "secretaccesskey",
                           "awssecretkey", "apisecret", "consumersecret", "sharedsecret"})
_TOKEN_WORDS = frozenset({"token", "accesstoken", "authtoken", "apitoken", "bearertoken", "refreshtoken",
                          "sessiontoken", "privatetoken", "oauthtoken", "bottoken", "tok"})
_KEY_QUALIFIERS = frozenset({"api", "secret", "access", "private", "auth", "encryption", "enc", "signing",
                             "sign", "client", "master", "app", "service", "account", "shared", "storage",
                             "subscription", "consumer", "aes", "hmac", "jwt", "crypt", "crypto", "license",
                             "admin", "root", "server", "webhook", "deploy", "ssh", "gpg", "pgp", "cipher",
                             "session", "cookie", "salt"})
_KEY_WORDS = frozenset({"apikey", "secretkey", "accesskey", "privatekey", "authkey", "encryptionkey",
                        "signingkey", "masterkey", "clientkey", "appkey", "aeskey", "hmackey", "jwtkey",
                        "licensekey", "servicekey", "storagekey", "subscriptionkey", "consumerkey", "key",
                        "apikeys"})


def _tail_is_reference(parts: tuple[str, ...]) -> bool:
    return len(parts) > 1 and parts[-1] in _KEY_NON_SECRET_SUFFIXES


#: Words that may follow the sensitive word in a name that still holds the secret itself
#: (``token_value``, ``SecretAccessKey``, ``password_b64``); anything else (``SecretAccessDenied``,
#: ``password_policy``) makes the name about the secret, not the secret.
_ALLOWED_TAIL = frozenset({"key", "value", "val", "str", "string", "text", "txt", "b64", "base64", "enc",
                           "encrypted", "raw", "plain", "plaintext", "data", "access", "secret", "token",
                           "pass", "password", "pwd", "cred", "creds", "credential", "credentials", "default",
                           "prod", "production", "dev", "staging", "live", "test", "old", "new", "current",
                           "primary", "secondary", "main", "master", "root", "admin", "user", "app", "api",
                           "db", "auth", "s", "x", "v", "hex", "bytes"})


def _tail_ok(parts: tuple[str, ...], index: int) -> bool:
    return all(p in _ALLOWED_TAIL or p.isdigit() for p in parts[index + 1:])


def is_password_key(key: str) -> bool:
    parts = key_parts(key)
    if not parts or _tail_is_reference(parts) or parts in _NGINX_PASS:
        return False
    for i, part in enumerate(parts):
        if part in _NOT_PASSWORD:
            continue
        if (part in _PASSWORD_WORDS or part.endswith(_PASSWORD_TAILS)
                or (part.endswith("pass") and len(part) > 4)):
            return _tail_ok(parts, i)
    return False


def is_secret_key(key: str) -> bool:
    parts = key_parts(key)
    if not parts or _tail_is_reference(parts):
        return False
    return any((p in _SECRET_WORDS or (p.endswith("secret") and len(p) > 6)) and _tail_ok(parts, i)
               for i, p in enumerate(parts))


def is_token_key(key: str) -> bool:
    parts = key_parts(key)
    if not parts or _tail_is_reference(parts):
        return False
    return any((p in _TOKEN_WORDS or (p.endswith("token") and len(p) > 5)) and _tail_ok(parts, i)
               for i, p in enumerate(parts))


def is_api_key_key(key: str) -> bool:
    """``api_key``, ``SECRET_KEY``, ``apiKey``, ``AwsSecretKey``; a bare ``key`` only as the whole name."""
    parts = key_parts(key)
    if not parts:
        return False
    if parts[-1] in ("key", "keys"):
        if len(parts) == 1:
            return True
        return parts[-2] in _KEY_QUALIFIERS
    return parts[-1] in _KEY_WORDS or (parts[-1].endswith("key") and parts[-1][:-3] in _KEY_QUALIFIERS)


def is_sensitive_key(key: str) -> bool:
    """Any of the above: what ``scan_value`` asks about an environment variable or config key."""
    return is_password_key(key) or is_secret_key(key) or is_token_key(key) or is_api_key_key(key)


# ---- file types: where in the file a value sits -------------------------------------------------

CODE_EXTENSIONS = frozenset({
    "py", "pyi", "js", "jsx", "mjs", "cjs", "ts", "tsx", "go", "java", "kt", "kts", "scala", "rb", "php",
    "cs", "c", "cc", "cpp", "cxx", "h", "hpp", "rs", "swift", "m", "mm", "dart", "lua", "pl", "pm",
    "groovy", "gradle", "vue", "svelte", "r", "jl", "ex", "exs", "erl", "clj", "fs", "vb",
})


def is_code_path(path: str) -> bool:
    name = path.rsplit("/", 1)[-1].lower()
    return "." in name and name.rsplit(".", 1)[-1] in CODE_EXTENSIONS


_TEST_PATH = re.compile(r"(?:^|/)(?:tests?|__tests__|spec|specs|testdata|test_data|fixtures?|mocks?)(?:/|$)"
                        r"|(?:^|/)(?:test_[^/]*|[^/]*_test\.\w+|[^/]*\.(?:test|spec)\.\w+)$",
                        re.IGNORECASE)


def is_test_path(path: str) -> bool:
    return bool(_TEST_PATH.search(path))


#: Prose and markup: a value in them is an example unless it looks generated.
DOC_EXTENSIONS = frozenset({"md", "markdown", "rst", "adoc", "asciidoc"})


def is_doc_path(path: str) -> bool:
    name = path.rsplit("/", 1)[-1].lower()
    return "." in name and name.rsplit(".", 1)[-1] in DOC_EXTENSIONS


_ISSUE_REF = re.compile(r"^#\d+$")  # `secrets (#30802)` in a changelog
_DOTTED_PATH = re.compile(r"^[A-Za-z_][A-Za-z_-]*(?:\.[A-Za-z_][A-Za-z_-]*)+$")  # a Helm values path, a.b.c
_TEMPLATE_FIELD = re.compile(r"^\$?\.[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$")  # Go templates: .Values.s3.caCert
_OBJECT_NAME = re.compile(r"^[a-z0-9]+(?:[._/-][a-z0-9]+)+$")  # a Kubernetes name or label key
_PGP_FINGERPRINT = re.compile(r"^(?:0x)?(?:[0-9A-F]{40}|[0-9A-F]{16})$")
_NAMING_FIELDS = frozenset({"key", "keys", "secret", "secrets", "secretname", "secretkey", "keyref",
                            "secretkeyref", "configmapkeyref", "name"})
_PGP_WORDS = frozenset({"gpg", "pgp", "fingerprint", "fingerprints", "keyid", "gnupg"})
_B64 = re.compile(r"^[A-Za-z0-9+/]{12,}={0,2}$")
_SELF_DESCRIBING = ("password", "passwd", "secret", "token", "apikey", "api_key", "changeit")


def names_something(value: str, key: str) -> bool:
    """The value names a thing rather than being a credential: an issue number, a values path
    (``hub.config.cookie_secret``), a Kubernetes object or config key under a naming field
    (``key: s3-secret-access-key`` in a secretKeyRef, ``secret: my-ca``), a public key fingerprint
    (``GPG_KEY``, ``key='B97B…'`` in official-image Dockerfiles), an escaped newline, a shell default whose fallback is
    another variable (``${PGPASSWORD:-$POSTGRES_PASSWORD}`` leaves ``-$POSTGRES_PASSWORD``), or
    base64 of a placeholder (``ZXhhbXBsZS1hcHAtc2VjcmV0`` is ``example-app-secret``)."""
    if _ISSUE_REF.match(value) or _DOTTED_PATH.match(value) or _TEMPLATE_FIELD.match(value):
        return True
    if value.startswith(("\\n", "\\t", "\\r")):  # an escaped line break inside a string
        return True
    if value[:1] in "-=?+" and value[1:2] == "$":
        return True
    parts = key_parts(key) if key else ()
    if parts and parts[-1] in _NAMING_FIELDS and not any(p in _KEY_QUALIFIERS for p in parts[:-1]) \
            and _OBJECT_NAME.match(value) and not any(len(seg) > 12 and any(c.isdigit() for c in seg)
                                                      for seg in re.split(r"[._/-]", value)):
        return True
    if _PGP_FINGERPRINT.match(value) and (not parts or parts[-1] in ("key", "keys")
                                          or any(p in _PGP_WORDS for p in parts)):
        return True
    if _B64.match(value):
        import base64
        import binascii

        try:
            text = base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode("ascii")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return False
        return text.isprintable() and is_placeholder(text)
    return False


def is_documentation_value(value: str) -> bool:
    """In README and changelog prose a value is an example unless it looks generated, and one that
    spells out what it is (``newRootPassword123``) is an example even then."""
    low = value.lower()
    return not looks_random(value) or any(word in low for word in _SELF_DESCRIBING)


_FAKE_PARTS = ("example", "xxxxx", "*****", "placeholder", "dummy", "sample", "${", "{{", "<", "your")
_LONG_REPEAT = re.compile(r"(.)\1{9,}")


def has_sequence(value: str, run: int = 5) -> bool:
    """``12345``, ``abcdef``, ``76543``: typed by a person writing an example, rare in random tokens."""
    up = down = 1
    for a, b in itertools.pairwise(value):
        if not (a.isalnum() and b.isalnum()):
            up = down = 1
            continue
        up = up + 1 if ord(b) == ord(a) + 1 else 1
        down = down + 1 if ord(b) == ord(a) - 1 else 1
        if up >= run or down >= run:
            return True
    return False


def is_fake_token(rest: str) -> bool:
    """A well-formed token that is documentation (``AKIAIOSFODNN7EXAMPLE``, ``ghp_xxxxxxxx...``)."""
    low = rest.lower()
    return any(p in low for p in _FAKE_PARTS) or bool(_LONG_REPEAT.search(rest)) or has_sequence(rest)


def is_weak_literal(value: str) -> bool:
    """For ``scan_value``: the name is known to be sensitive, so any literal that is not a placeholder
    or a reference counts, even a weak one (``password123`` is exactly the problem)."""
    v = value.strip()
    if len(v) < 4 or len(v) > 4096:
        return False
    if is_placeholder(v) or is_reference(v, quoted=True, code=False) or is_uuid(v):
        return False
    return not (_NUMBERISH.match(v) or _PATHISH.match(v) or v.startswith(("http://", "https://")))


def looks_random(value: str) -> bool:
    """Letters and digits mixed, long enough: what a generated key looks like (``serviceAccountName``
    and ``user=alice`` do not)."""
    return (len(value) >= 12 and any(c.isdigit() for c in value) and any(c.isalpha() for c in value)
            and shannon_entropy(value) >= 3.0)
