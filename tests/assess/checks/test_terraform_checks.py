"""Terraform checks: policy parsing, lines of repeated blocks, unknown expressions, secrets kept secret."""

from __future__ import annotations

from pathlib import Path

from cnsec.assess.checks.terraform._tf import policy_document, statements
from cnsec.assess.config import Config
from cnsec.assess.engine import assess
from cnsec.model.finding import Finding


def _findings(tmp_path: Path, text: str, check_id: str) -> list[Finding]:
    path = tmp_path / "main.tf"
    path.write_text(text)
    report = assess([str(path)], Config(), only={check_id})
    assert not report.errors, [str(e) for e in report.errors]
    return [f for f in report.findings if f.check_id == check_id]


def test_jsonencode_policy_is_read_as_a_document() -> None:
    doc = policy_document('${jsonencode({Version = "2012-10-17", Statement = [{Action = ["*"], '
                          'Effect = "Allow", Resource = "*"}]})}')
    assert statements(doc) == [{"Action": ["*"], "Effect": "Allow", "Resource": "*"}]


def test_jsonencode_policy_is_read_without_importing_python_hcl2() -> None:
    """The loader's fast parser reads it; python-hcl2 (and lark, 0.14 s of import) is only for what
    that parser leaves to it."""
    import subprocess
    import sys

    code = ("import sys; from cnsec.assess.checks.terraform._tf import policy_document, statements; "
            "doc = policy_document('${jsonencode({Statement = [{Effect = \"Deny\", Action = \"s3:*\"}]})}'); "
            "print(statements(doc), 'lark' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[{'Effect': 'Deny', 'Action': 's3:*'}] False"


def test_a_jsonencode_policy_the_fast_parser_leaves_is_read_by_python_hcl2() -> None:
    doc = policy_document('${jsonencode({Statement = [{Effect = "Allow", Action = "*", Resource = "*"}],\r\n})}')
    assert statements(doc) == [{"Effect": "Allow", "Action": "*", "Resource": "*"}]  # a CR: fast path declines


def test_heredoc_policy_is_read_as_a_document() -> None:
    doc = policy_document('<<EOF\n{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}\nEOF')
    assert statements(doc) == [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]


def test_unreadable_policy_is_unknown_not_an_error() -> None:
    assert policy_document("${data.aws_iam_policy_document.x.json}") is None
    assert policy_document('{"Statement": [') is None


def test_open_rule_is_reported_at_its_own_ingress_block(tmp_path: Path) -> None:
    text = (Path(__file__).parent / "fixtures" / "CNSEC-TF-009" / "fail.tf").read_text()
    [f] = _findings(tmp_path, text, "CNSEC-TF-009")
    assert f.source.line == 9
    assert "SSH (22)" in f.message


def test_values_that_are_expressions_are_not_reported(tmp_path: Path) -> None:
    text = ('resource "aws_db_instance" "db" {\n  engine = "postgres"\n'
            "  storage_encrypted = var.encrypted\n  publicly_accessible = var.public\n}\n")
    assert not _findings(tmp_path, text, "CNSEC-TF-006")
    assert not _findings(tmp_path, text, "CNSEC-TF-007")


def test_provider_credentials_are_located_but_never_shown(tmp_path: Path) -> None:
    text = (Path(__file__).parent / "fixtures" / "CNSEC-TF-017" / "fail.tf").read_text()
    findings = _findings(tmp_path, text, "CNSEC-TF-017")
    assert sorted(f.source.line or 0 for f in findings) == [4, 5]
    for f in findings:
        assert "AKIAIOSFODNN7EXAMPLE" not in f.message + (f.fix or "") + str(f.location)
        assert "EXAMPLEKEY" not in f.message + (f.fix or "") + str(f.location)
        assert f.asset_id.startswith("provider.aws.plain")


def test_bucket_linked_by_a_separate_resource_is_recognised(tmp_path: Path) -> None:
    text = ('resource "aws_s3_bucket" "b" {\n  bucket = "acme-b"\n}\n'
            'resource "aws_s3_bucket_versioning" "v" {\n  bucket = "acme-b"\n'
            '  versioning_configuration {\n    status = "Enabled"\n  }\n}\n')
    assert not _findings(tmp_path, text, "CNSEC-TF-004")


def test_admin_statement_is_not_double_reported_as_wildcard(tmp_path: Path) -> None:
    text = (Path(__file__).parent / "fixtures" / "CNSEC-TF-010" / "fail.tf").read_text()
    assert _findings(tmp_path, text, "CNSEC-TF-010")
    assert not _findings(tmp_path, text, "CNSEC-TF-011")


ODD = """\
resource "aws_security_group" "a" {
  ingress = "nope"
}
resource "aws_security_group" "b" {
  ingress {
    from_port   = var.p
    to_port     = "x"
    cidr_blocks = var.cidrs
  }
}
resource "aws_iam_policy" "d" {
  policy = 12
}
resource "aws_iam_policy" "e" {
  policy = "{\\"Statement\\": \\"x\\"}"
}
resource "aws_iam_policy" "f" {
  policy = jsonencode({ Statement = [{ Action = var.a, Resource = null, Effect = "Allow" }] })
}
resource "aws_eks_cluster" "h" {
  vpc_config        = "x"
  encryption_config = [1, 2]
}
resource "aws_s3_bucket" "i" {
  versioning = "x"
  grant      = "x"
}
resource "google_storage_bucket_iam_member" "l" {
  member = null
}
"""


def test_odd_attribute_shapes_never_break_the_terraform_checks(tmp_path: Path) -> None:
    path = tmp_path / "odd.tf"
    path.write_text(ODD)
    report = assess([str(path)], Config(), only={"CNSEC-TF-*"})
    assert not [e for e in report.errors if "failed on" in str(e)], [str(e) for e in report.errors]


def test_reference_to_a_longer_hyphenated_name_is_not_a_match(tmp_path: Path) -> None:
    text = ('resource "aws_s3_bucket" "data" {\n  bucket = "acme-data"\n}\n'
            'resource "aws_s3_bucket_versioning" "v" {\n  bucket = aws_s3_bucket.data-archive.id\n'
            '  versioning_configuration {\n    status = "Enabled"\n  }\n}\n')
    assert _findings(tmp_path, text, "CNSEC-TF-004")


def test_report_snippets_never_show_the_provider_keys(tmp_path: Path) -> None:
    path = tmp_path / "main.tf"
    path.write_text((Path(__file__).parent / "fixtures" / "CNSEC-TF-017" / "fail.tf").read_text())
    report = assess([str(path)], Config())
    snippets = "\n".join(f.snippet or "" for f in report.findings)
    assert "AKIAIOSFODNN7EXAMPLE" not in snippets and "EXAMPLEKEY" not in snippets


def test_the_key_of_a_taint_or_label_pair_is_a_name_not_a_secret(tmp_path: Path) -> None:
    """terraform-aws-eks's efa example taints GPU nodes with ``key = "nvidia.com/gpu"`` through a dynamic
    ``taint`` block; it was reported as a hard-coded API key once evaluation reached the value."""
    text = '''
resource "aws_eks_node_group" "gpu" {
  taint {
    key    = "nvidia.com/gpu"
    value  = "true"
    effect = "NO_SCHEDULE"
  }
  taint {
    key    = "dedicated-workload-x9Qz7Lm2Vb8Kp4Rt"
    effect = "NO_EXECUTE"
  }
}
'''
    assert _findings(tmp_path, text, "CNSEC-TF-031") == []


def test_a_token_written_as_a_pair_key_is_still_a_secret(tmp_path: Path) -> None:
    token = "glpat-" + "Xq7Lm2Vb8Kp4Rt9Wz3Nc"  # made up here, in GitLab's token format
    text = f'''
resource "aws_eks_node_group" "gpu" {{
  taint {{
    key    = "{token}"
    effect = "NO_SCHEDULE"
  }}
}}
'''
    found = _findings(tmp_path, text, "CNSEC-TF-031")
    assert len(found) == 1 and token not in found[0].message
