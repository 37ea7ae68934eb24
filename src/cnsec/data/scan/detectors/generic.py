# cnsec:ignore-file detector examples and test values are synthetic, never real credentials
"""Generic credentials: ``password=``/``secret:``/``token:``/``api_key`` assignments in code, YAML,
JSON, .env, Dockerfile ENV/ARG, Terraform and Kubernetes manifests; credentials in URLs, HTTP
authorization headers, SQL and command lines.

These are the noisy ones in every scanner, so every value they extract goes through the precision
filters (``cnsec.data.scan.filters``): the name must be sensitive (``passenger`` is not a password),
the value must not be a placeholder, a reference (``${X}``, ``os.environ[...]``, an identifier in
code), a path, a URL or prose, and it must look like a credential (mixed character classes or high
entropy).
"""

from __future__ import annotations

from cnsec.data.scan.detectors import Detector
from cnsec.data.scan.detectors._validators import basic_auth
from cnsec.data.scan.filters import (
    is_api_key_key,
    is_password_key,
    is_secret_key,
    is_sensitive_key,
    is_token_key,
)
from cnsec.model.severity import Severity as S

#: ``name`` [``: type``] separator value — the shape of an assignment in most languages and formats.
_TYPE = r"(?:\s*:\s*[A-Za-z_][\w.\[\]]{0,20}\s*(?==))?"
_SEP = r"[\"'`]?\]?(?P<sep>\s*(?::=|=>|==|!=|\?=|\|\|=|=|:|>|\(|\s+is\s+|\s+)\s*)"
_VALUE = (r"(?:\\?\"(?P<dq>[^\"\\\s]{1,200})\\?\"|\\?'(?P<sq>[^'\\\s]{1,200})\\?'|`(?P<bq>[^`\s]{1,200})`"
          r"|(?P<bare>(?!\$\{|\$\(|\{\{)[^\s\"'`,;(){}\[\]<>&|]{1,200}))")
_QUOTED = r"(?:\\?\"(?P<dq>[^\"\\\s]{1,200})\\?\"|\\?'(?P<sq>[^'\\\s]{1,200})\\?'|`(?P<bq>[^`\s]{1,200})`)"


#: The rest of a name after its keyword: bounded and possessive (no separator starts with a name
#: character, so giving back characters never helps). Unbounded and backtracking, a run of name
#: characters (``keykeykey…`` in a minified or base64 line) cost each keyword in it the whole run.
_NAME_REST = r"[\w.\-]{0,64}+"


def _assignment(words: str) -> str:
    # The match starts at the keyword (fast: the regex engine skips to its first letters); the engine
    # extends ``key`` to the left over name characters, so ``MYSQL_ROOT_PASSWORD`` is the whole name.
    return r"(?P<key>(?:" + words + r")" + _NAME_REST + ")" + _TYPE + _SEP + _VALUE


def _code_assignment(words: str) -> str:
    return r"(?P<key>(?:" + words + r")" + _NAME_REST + ")" + _TYPE + _SEP + _QUOTED


_PASSWORD_WORDS = r"pass|pwd|pw|psw|pssw|pasw|paasw|비밀번호|비번|암호|패스워드"  # noqa: S105

DETECTORS = (
    Detector(
        id="generic-password", title="Hard-coded password", severity=S.HIGH,
        keywords=("pass", "pw", "psw", "pssw", "pasw", "paasw", "비밀번호", "비번", "암호", "패스워드"),
        pattern=_assignment(_PASSWORD_WORDS),
        code_pattern=_code_assignment(_PASSWORD_WORDS), ignore_case=True, generic=True, key_filter=is_password_key,
        description="A password assigned to a password-named variable, key, flag or environment variable.",
        examples=('DB_PASSWORD: "Sup3r-S3cret!mail"', "password=2bkJgtJDiLcq1t", "ENV DB_PASS=hunter2Xy9",
                  'def connect(passwd: str = "cq2tPr1a2"):', "<password>IhqSb1Gg</password>"),
        counter_examples=("password: ${DB_PASSWORD}", 'password = os.environ["DB_PASSWORD"]', "password: changeme",
                          "passengers: quickBrown42", 'password_file: "/run/secrets/db.txt"',
                          "self.password = password", 'password: "p@ss-{i}"', "password_policy: Min8Chars!")),
    Detector(
        id="generic-secret", title="Hard-coded secret", severity=S.HIGH, keywords=("secret",),
        pattern=_assignment(r"secret"),
        code_pattern=_code_assignment(r"secret"), ignore_case=True, generic=True, key_filter=is_secret_key,
        examples=('client_secret = "q8Zk3J9xQpL0aB7cD2eF4g"', 'JWT_SECRET: "7d9f!kq2Lz0"'),
        counter_examples=('client_secret = "<client-secret>"', "secretName: db-credentials",
                          "secret: {{ .Values.secret }}", '"Kubernetes.Secret.AccessDenied": "CNSEC-DET-K8S-020"',
                          'title: "Secret access: a client probes for credential files"')),
    Detector(
        id="generic-token", title="Hard-coded token", severity=S.HIGH, keywords=("token",),
        pattern=_assignment(r"token"),
        code_pattern=_code_assignment(r"token"), ignore_case=True, generic=True, key_filter=is_token_key,
        examples=('gi_reo_gi_token = "G1Re06G1BdgNseiJDN21Z094M"', 'tp_token_value="b035d48j9X2dfjF0hb9sd8Guf5h"'),
        counter_examples=("token_url: https://example.com/oauth/token", 'token = request.headers["X-Token"]')),
    Detector(
        id="generic-api-key", title="Hard-coded API key", severity=S.HIGH, keywords=("key",),
        pattern=_assignment(r"key"),
        code_pattern=_code_assignment(r"key"), ignore_case=True, generic=True, key_filter=is_api_key_key,
        examples=('apiKey: "da2-b32ctqssd3cvbzap3msamjq6l1x"', 'SECRET_KEY = "k3J9x!QpL0aB7c"'),
        counter_examples=("primary_key = models.AutoField()", "key: app.kubernetes.io/name",
                          'api_key = settings.API_KEY', 'key = "serviceAccountName"', '"key": "user=alice"')),
    Detector(
        id="k8s-env-secret", title="Secret in a Kubernetes env value", severity=S.HIGH,
        keywords=("pass", "pwd", "secret", "token", "key"), requires=("name",), extra_lines=1, generic=True,
        key_filter=is_sensitive_key,
        pattern=r"name:\s*[\"']?(?P<key>[\w.\-]+)[\"']?[ \t]*\r?\n[ \t]*-?[ \t]*value:[ \t]*"
                r"(?:\"(?P<dq>[^\"\s]{1,200})\"|'(?P<sq>[^'\s]{1,200})'|(?P<bare>[^\s#\"']{1,200}))",
        description="A container env entry whose name is sensitive and whose value is a literal "
                    "(use valueFrom.secretKeyRef instead).",
        examples=("- name: DB_PASSWORD\n  value: pa55W0rd-x1",),
        counter_examples=("- name: DB_PASSWORD\n  valueFrom:\n", "- name: DB_PASSWORD\n  value: $(PASSWORD)")),
    Detector(
        id="json-env-secret", title="Secret in a JSON name/value pair", severity=S.HIGH,
        keywords=("pass", "pwd", "secret", "token", "key"), requires=('"value"',), generic=True,
        key_filter=is_sensitive_key,
        pattern=r"\"name\"\s*:\s*\"(?P<key>[\w.\-]+)\"\s*,\s*\"value\"\s*:\s*\"(?P<dq>[^\"\s]{1,200})\"",
        description="An env entry in JSON form (kubectl's last-applied-configuration annotation, ECS task "
                    "definitions, docker inspect output) whose name is sensitive and whose value is a literal.",
        examples=('{"env":[{"name":"DB_PASSWORD","value":"pa55W0rd-x1"}]}',),
        counter_examples=('{"name":"DB_PASSWORD","value":"$(DB_PASSWORD)"}', '{"name":"LOG_LEVEL","value":"debug"}')),
    Detector(
        id="url-credentials", title="Password in a URL or connection string", severity=S.HIGH,
        keywords=(), anchor=r"://[^\s:/@\"']{1,64}:[^\s/@\"']{3,128}@", generic=True,
        pattern=r"[A-Za-z][A-Za-z0-9+.\-]{1,20}://(?P<key>[^\s:/@\"'<>]{1,64}):(?P<bare>[^\s/@\"'<>]{3,128})@"
                r"[\w.\-\[\]]+",
        description="user:password@host in a database URL, broker URL or HTTP URL.",
        examples=("DATABASE_URL=postgresql://shop:s3cr3tPw9@postgres.shop.svc:5432/shop",),
        counter_examples=("postgres://user:${DB_PASSWORD}@db:5432/app", "https://user:password@example.com")),
    Detector(
        id="basic-auth-header", title="HTTP Basic authorization credentials", severity=S.HIGH,
        keywords=("basic",), ignore_case=True, validate=basic_auth,
        pattern=r"(?:authorization|auth)[\"']?\s*[:=]?\s*[\"']?\s*basic\s+(?P<secret>[A-Za-z0-9+/]{8,}={0,2})",
        examples=('curl -H "Authorization: Basic R2hyZG5oYzpycWVpIGVuZ2xiZg==" http://localhost:8080/',)),
    Detector(
        id="bearer-auth-header", title="HTTP Bearer token", severity=S.HIGH, keywords=("bearer",),
        ignore_case=True, min_entropy=3.5, generic=True,
        pattern=r"(?:authorization|auth|bearer)[\"']?\s*[:=]?\s*[\"']?\s*bearer\s+(?P<bare>[A-Za-z0-9_\-.~+/]{20,}=*)",
        examples=('curl -H "Authorization: Bearer eyJGRpVu1c2VzY2-823r_db32hbf4W1lbj" http://localhost/',),
        counter_examples=('-H "Authorization: Bearer ${TOKEN}"',)),
    Detector(
        id="sql-password", title="Password in a SQL statement", severity=S.HIGH, keywords=("identified",),
        ignore_case=True, generic=True,
        pattern=r"identified\s+(?:with\s+['\"]?\w+['\"]?\s+)?(?:by|as)\s+(?:password\s+)?"
                r"(?:'(?P<sq>[^'\s]{3,128})'|\"(?P<dq>[^\"\s]{3,128})\"|(?P<bare>[^\s;\\\"']{3,128}))",
        examples=("ALTER USER 'root'@'localhost' IDENTIFIED WITH mysql_native_password BY 'SqLpa5sW0rD';",),
        counter_examples=("CREATE USER app IDENTIFIED BY :password;",)),
    Detector(
        id="powershell-securestring", title="Plain-text password in ConvertTo-SecureString",
        severity=S.HIGH, keywords=("convertto-securestring",), ignore_case=True, generic=True,
        pattern=r"ConvertTo-SecureString\s+(?:-\w+\s+)*\\?[\"']?(?P<bare>[^\s\"'\\]{4,128})",
        examples=("ConvertTo-SecureString -String -Force dsjUE#$gds8s",),
        counter_examples=("ConvertTo-SecureString -String $env:PASSWORD -AsPlainText -Force",)),
    Detector(
        id="curl-user-password", title="Password in a curl/wget user option", severity=S.HIGH,
        keywords=("-u ", "--user"), generic=True,
        pattern=r"(?:\s-u|--user)[\s=]+[\"']?(?P<key>[^\s:\"'$]{1,64}):(?P<bare>[^\s\"']{4,128})",
        examples=('curl -X PUT -u "admin:dG9rZW4gX1" https://127.0.0.1',),
        counter_examples=('curl -u "$USER:$PASS" https://x',)),
)
