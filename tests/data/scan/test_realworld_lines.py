"""Lines of clean, popular public repositories that are not secrets (issue #12), each from the file
and commit named beside it (see bench/secrets_realworld.py for the whole repositories)."""

from __future__ import annotations

import pytest

from cnsec.data.scan.engine import Engine

POSTGRES = "docker-library/postgres@6edb0a8c"
PYTHON = "docker-library/python@4f070595"
CHARTS = "bitnami/charts@5165628a"

NOT_SECRETS = [
    # a config key name under `key:` (a nodeAffinity / secretKeyRef key), not an API key
    (CHARTS, "bitnami/airflow/values.yaml", '    ## key: "kubernetes.io/e2e-az-name"'),
    (CHARTS, "bitnami/influxdb/templates/deployment.yaml", "                  key: s3-secret-access-key"),
    # a Secret's name, and a Helm values path
    (CHARTS, "bitnami/redmine/README.md", "    - secret: my-ca-1"),
    (CHARTS, "bitnami/jupyterhub/templates/hub/configmap.yaml",
     '    c.JupyterHub.cookie_secret = get_secret_value("hub.config.JupyterHub.cookie_secret")'),
    (CHARTS, "bitnami/mongodb/README.md",
     'kubectl patch secret "mongodb-0-cert" -p="{\\"data\\":{\\"ca.crt\\": \\"$(cat ca.crt | base64 -w0 )\\"}}"'),
    (CHARTS, "bitnami/milvus/templates/_helpers.tpl",
     "{{- if and .Values.externalS3.tls.existingSecret .Values.externalS3.tls.caCert }}"),
    # nginx directives in a values comment
    (CHARTS, "bitnami/nginx/values.yaml", "##       fastcgi_pass phpfpm-server:9000;"),
    # an escaped line break inside a CRD description string
    (CHARTS, "bitnami/kube-prometheus/charts/kube-prometheus-crds/crds/crd-prometheuses.yaml",
     "      are either:\\n\\t* Un-prefixed keys:\\n\\t\\t- storage -"),
    # public key fingerprints in official-image Dockerfiles
    (POSTGRES, "17/bookworm/Dockerfile", "\tkey='B97B0AFCAA1A47F044F244A07FCC7D46ACCC4CF8'; \\"),
    (PYTHON, "3.12/alpine3.23/Dockerfile", "ENV GPG_KEY 7169605F62C751356D054A26A821E680E5FA6305"),
    # a shell default whose fallback is another variable
    (POSTGRES, "17/bookworm/docker-entrypoint.sh", '\t\t\texport PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"'),
    # an issue number in a changelog
    (CHARTS, "bitnami/redis/CHANGELOG.md",
     "* [bitnami/redis] feat: :sparkles: Add ServiceBinding-compatible secrets (#14906) ([20196ce](https://"
     "github.com/bitnami/charts/commit/20196ce863244c45834a93c5622a411ca48924ba)), closes [#14906](https://"
     "github.com/bitnami/charts/issues/14906)"),
    # placeholders in documentation, and base64 of one
    (CHARTS, "bitnami/mysql/README.md", 'rootPassword: "newRootPassword123"'),
    (CHARTS, "bitnami/thanos/README.md", "    rootPassword: minio123"),
    (CHARTS, "bitnami/chainloop/templates/dex/secret.yaml", "  secret: ZXhhbXBsZS1hcHAtc2VjcmV0"),
]


@pytest.mark.parametrize(("repo", "path", "line"), NOT_SECRETS, ids=[f"{r}:{p}" for r, p, _ in NOT_SECRETS])
def test_a_line_of_a_clean_public_repository_is_not_a_secret(repo: str, path: str, line: str,
                                                            engine: Engine) -> None:
    hits = engine.scan_bytes(line.encode() + b"\n", path)
    assert [h.detector for h in hits] == [], f"{repo} {path}"


@pytest.mark.parametrize(("path", "line"), [
    ("app/values.yaml", "  key: da2-b32ctqssd3cvbzap3msamjq6l1x"),          # a generated key under key
    ("docker-entrypoint.sh", 'export DB_PASSWORD="${DB_PASSWORD:-Zq8Lw2pX9rT4v}"'),  # a literal default
    ("README.md", "    apiKey: q8Zk3J9xQpL0aB7cD2eF4gHk"),                 # a generated key in docs
])
def test_a_credential_shaped_like_those_is_still_found(path: str, line: str, engine: Engine) -> None:
    assert engine.scan_bytes(line.encode() + b"\n", path)
