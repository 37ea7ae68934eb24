"""No false alarm a user can see through, on real public files (issue #12); sources in realworld/SOURCES.md.

Each test names the class of mistake, runs the whole engine on the real file, and checks that what is
really there is still reported.
"""

from __future__ import annotations

from pathlib import Path

from cnsec.assess.config import Config
from cnsec.assess.engine import assess
from cnsec.model.finding import Finding

REAL = Path(__file__).parent / "realworld"


def _findings(path: Path, *check_ids: str) -> list[Finding]:
    report = assess([str(path)], Config(), only=set(check_ids) if check_ids else None)
    assert not report.errors, [str(e) for e in report.errors]
    return [f for f in report.findings if not check_ids or f.check_id in check_ids]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# ---- control plane: a flag that names a component is not that component ------------------------

def test_an_operator_with_a_kubelet_service_flag_is_not_a_kubelet() -> None:
    """prometheus-operator runs with --kubelet-service=kube-system/kubelet: no kubelet checks."""
    path = REAL / "kube-prometheus-operator-deployment.yaml"
    assert not _findings(path, "CNSEC-K8S-054", "CNSEC-K8S-055", "CNSEC-K8S-064")
    assert _findings(path, "CNSEC-K8S-027")  # its tag-pinned images are still judged


def test_a_component_named_as_a_flag_value_or_an_object_is_not_run(tmp_path: Path) -> None:
    pod = ("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: x}\nspec:\n  containers:\n"
           "  - name: c\n    image: x:1\n    args: ARGS\n")
    for args in ('["--kubelet-service", "kubelet"]', '["--apiserver=kube-apiserver"]',
                 '["--target", "kube-system/kube-apiserver"]', '["kube-system/kubelet"]'):
        path = _write(tmp_path, "p.yaml", pod.replace("ARGS", args))
        assert not _findings(path, "CNSEC-K8S-054", "CNSEC-K8S-055", "CNSEC-K8S-053"), args
    for args in ('["kubelet"]', '["/usr/local/bin/kubelet"]', '["./kubelet", "--v=2"]'):
        path = _write(tmp_path, "p.yaml", pod.replace("ARGS", args))
        assert _findings(path, "CNSEC-K8S-054"), args


# ---- image pull policy: a digest is a pin ---------------------------------------------------------

def test_a_digest_pinned_controller_with_if_not_present_is_not_reported() -> None:
    path = REAL / "ingress-nginx-controller-deployment.yaml"
    assert not _findings(path, "CNSEC-K8S-027")
    assert not _findings(path, "CNSEC-K8S-025")  # and the digest pin itself is seen


# ---- secrets: names, public keys and empty shell defaults are not secrets -------------------------

def test_the_name_of_a_secret_in_an_annotation_is_not_a_hard_coded_secret() -> None:
    assert not _findings(REAL / "ingress-nginx-client-certs-ingress.yaml", "CNSEC-K8S-029")


def test_the_name_of_a_secret_in_a_flag_is_not_a_hard_coded_secret() -> None:
    """cert-manager's --webhook-ca-secret / --webhook-serving-secret take Secret names."""
    assert not _findings(REAL / "checkov-cert-manager-deployment.yaml", "CNSEC-K8S-029")


def test_a_credential_under_a_secret_annotation_or_flag_is_still_reported(tmp_path: Path) -> None:
    ingress = (REAL / "ingress-nginx-client-certs-ingress.yaml").read_text()
    path = _write(tmp_path, "ingress.yaml", ingress.replace(
        '"default/ca-secret"', '"Qm9vdHN0cmFwLTE5ODctc2VjcmV0LXRva2Vu"'))
    assert _findings(path, "CNSEC-K8S-029")
    pod = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: x\n"
           "  annotations: {cert-manager.io/inject-ca-from-secret: cert-manager/cert-manager-webhook-ca}\n"
           "spec:\n  containers:\n  - name: c\n    image: x:1\n    args: [--client-secret=my-oauth-client]\n")
    [f] = _findings(_write(tmp_path, "pod.yaml", pod), "CNSEC-K8S-029")
    assert "client-secret" in f.message


def test_public_key_fingerprints_in_official_image_dockerfiles_are_not_secrets() -> None:
    """ENV GPG_KEY 7169605F… (python) and key='B97B0AFC…'; gpg --recv-keys "$key" (postgres)."""
    assert not _findings(REAL / "python-3.13-slim-trixie.Dockerfile", "CNSEC-DKR-004")
    assert not _findings(REAL / "postgres-17-trixie.Dockerfile", "CNSEC-DKR-004")


def test_a_hex_credential_in_a_dockerfile_without_gpg_is_still_reported(tmp_path: Path) -> None:
    text = (REAL / "python-3.13-slim-trixie.Dockerfile").read_text()
    no_gpg = "FROM debian:trixie-slim\nENV API_KEY 7169605F62C751356D054A26A821E680E5FA6305\n"
    assert _findings(_write(tmp_path, "Dockerfile", no_gpg), "CNSEC-DKR-004")
    # in a Dockerfile that uses gpg, a hex value neither named for keys nor handed to gpg is still judged
    with_gpg = text.replace("ENV GPG_KEY", "ENV API_KEY 0123FEDCBA9876543210ABCDEF0123456789ABCD\nENV GPG_KEY")
    [f] = _findings(_write(tmp_path, "Dockerfile", with_gpg), "CNSEC-DKR-004")
    assert "API_KEY" in f.message


def test_a_shell_default_is_judged_by_its_literal_part(tmp_path: Path) -> None:
    df = "FROM alpine:3.20\nARG DB_PASSWORD=${DB_PASSWORD:-}\nENV API_TOKEN=${API_TOKEN:-$FALLBACK}\n"
    assert not _findings(_write(tmp_path, "Dockerfile", df), "CNSEC-DKR-004")
    literal = "FROM alpine:3.20\nENV DB_PASSWORD=${DB_PASSWORD:-Sup3r-S3cret-2024}\n"
    assert _findings(_write(tmp_path, "Dockerfile", literal), "CNSEC-DKR-004")
    pod = ("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: x}\nspec:\n  containers:\n"
           "  - name: c\n    image: x:1\n    env:\n    - {name: DB_PASSWORD, value: 'VALUE'}\n")
    assert not _findings(_write(tmp_path, "p.yaml", pod.replace("VALUE", "${DB_PASSWORD:-}")), "CNSEC-K8S-029")
    assert _findings(_write(tmp_path, "p.yaml", pod.replace("VALUE", "${DB_PASSWORD:-Sup3r-S3cret-2024}")),
                     "CNSEC-K8S-029")


def test_an_s3_object_key_or_a_tag_key_is_not_a_secret(tmp_path: Path) -> None:
    tf = ('resource "aws_s3_object" "data" {\n  bucket = "b"\n  key    = "customer-master.xlsx"\n}\n'
          'resource "aws_autoscaling_group" "g" {\n  tag {\n    key   = "Name"\n    value = "web"\n'
          '    propagate_at_launch = true\n  }\n}\n'
          'resource "aws_kms_ciphertext" "c" {\n  key = "Zx9Kq2Lm8Np4Rt6Vw1Yb3Hc5Jd7Fg0Sa"\n}\n')
    [f] = _findings(_write(tmp_path, "main.tf", tf), "CNSEC-TF-031")
    assert f.asset_id == "aws_kms_ciphertext.c"


# ---- weak crypto: right about the protocol, on the right resource -------------------------------

def test_tls_cbc_suites_are_legacy_not_cbc_without_a_mac() -> None:
    path = REAL / "kube-prometheus-adapter-deployment.yaml"
    assert not _findings(path, "CNSEC-CFG-001")
    found = _findings(path, "CNSEC-CFG-002")
    assert {f.asset_id for f in found} == {"Deployment/monitoring/prometheus-adapter"}
    messages = " ".join(f.message for f in found)
    assert "HMAC" in messages and "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA" in messages
    assert "no forward secrecy" in messages and "TLS_RSA_WITH_AES_128_GCM_SHA256" in messages


def test_the_sha1_oidc_thumbprint_aws_requires_is_not_a_weak_hash_choice() -> None:
    assert not _findings(REAL / "terraform-aws-eks-irsa.tf", "CNSEC-CFG-001")


def test_weak_crypto_sits_on_the_resource_it_came_from_or_on_its_file(tmp_path: Path) -> None:
    eks = (REAL / "terraform-aws-eks-irsa.tf").read_text()
    path = _write(tmp_path, "main.tf", eks.replace(
        "  # Not available on outposts\n  create_oidc_provider",
        '  legacy_cipher = "aes-256-cbc"\n  # Not available on outposts\n  create_oidc_provider', 1).replace(
        '  client_id_list', '  signature_algorithm = "sha1WithRSAEncryption"\n  client_id_list', 1))
    found = {(f.asset_id, f.message.split(":")[0]) for f in _findings(path, "CNSEC-CFG-001")}
    assert found == {(str(path), "CBC mode without a MAC is malleable (padding oracles)"),
                     ("aws_iam_openid_connect_provider.oidc_provider",
                      "MD5/SHA-1 for signatures or digests is collision-prone")}


def test_a_public_pgp_key_in_terraform_is_not_a_secret(tmp_path: Path) -> None:
    """aws_iam_access_key encrypts its secret to pgp_key = "keybase:…" (KICS's own test input)."""
    assert not _findings(REAL / "kics-iam-access-key-pgp.tf", "CNSEC-TF-031")
    tf = (REAL / "kics-iam-access-key-pgp.tf").read_text().replace(
        'status = "Active"', 'status = "Active"\n  secret_key = "Zx9Kq2Lm8Np4Rt6Vw1Yb3Hc5Jd7Fg0Sa"')
    [f] = _findings(_write(tmp_path, "main.tf", tf), "CNSEC-TF-031")
    assert "secret_key" in f.message
