"""Terraform evaluation: local modules, variables, count/for_each, dynamic blocks, data sources.

The inputs under ``data/tf`` are excerpts of public modules (see its SOURCES.md).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cnsec.assess.config import Config
from cnsec.assess.engine import assess
from cnsec.assess.inventory import load_inventory
from cnsec.assess.loaders.terraform import parse_terraform
from cnsec.model.finding import Finding

DATA = Path(__file__).parent / "data" / "tf"


def _findings(target: Path, check_id: str) -> tuple[list[Finding], list[str]]:
    report = assess([str(target)], Config(), only={check_id})
    return [f for f in report.findings if f.check_id == check_id], [str(e) for e in report.errors]


def _parse(path: Path) -> list[str]:
    parsed = parse_terraform(path.read_text(), str(path))
    assert not parsed.problems and not parsed.skipped, parsed
    return [r.address for r in parsed.resources]


def test_a_public_endpoint_passed_into_a_local_eks_module_is_reported_naming_call_and_resource() -> None:
    found, errors = _findings(DATA / "eks", "CNSEC-TF-013")
    assert not errors, errors
    [f] = found  # the module on its own keeps its default (a private endpoint): only the call is public
    assert f.asset_id == "module.eks.aws_eks_cluster.this[0]"
    assert f.source.file.endswith("eks/module/main.tf")
    assert f.source.line == 75  # its vpc_config block, in the module's file
    assert f.message.endswith(f"(through module call {DATA / 'eks' / 'example' / 'main.tf'}:1)")


def test_a_module_resource_records_the_call_that_led_to_it() -> None:
    inv = load_inventory([str(DATA / "eks" / "example")], workers=1)
    [cluster] = [r for r in inv.terraform if r.type == "aws_eks_cluster"]
    assert cluster.via == ((str(DATA / "eks" / "example" / "main.tf"), 1),)
    assert cluster.blocks("vpc_config")[0]["endpoint_public_access"] is True
    assert cluster.blocks("vpc_config")[0]["public_access_cidrs"] == ["0.0.0.0/0"]  # the module's default


def test_a_variable_without_a_default_or_caller_stays_an_unknown_expression() -> None:
    inv = load_inventory([str(DATA / "eks" / "module")], workers=1)
    [cluster] = inv.terraform
    assert cluster.attrs["name"] == "${var.name}"
    assert cluster.blocks("vpc_config")[0]["endpoint_public_access"] is False  # its default


def test_a_registry_module_is_reported_as_skipped_not_followed(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('module "vpc" {\n  source = "terraform-aws-modules/vpc/aws"\n}\n')
    report = assess([str(tmp_path)], Config())
    assert report.errors == []
    assert [(e.line, "not followed" in e.message) for e in report.skipped] == [(1, True)]


def test_a_git_module_source_is_reported_without_its_credentials(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'module "x" {\n  source = "git::https://deploy:s3cr3tvalue@example.com/m.git"\n}\n')
    report = assess([str(tmp_path)], Config())
    [skip] = report.skipped
    assert "s3cr3tvalue" not in skip.message and "not followed" in skip.message


def test_a_module_calling_itself_is_reported_and_not_followed_forever(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('module "again" {\n  source = "./"\n}\n'
                                      'resource "aws_s3_bucket" "b" {\n  bucket = "x"\n}\n')
    resources, problems, skipped = parse_terraform((tmp_path / "main.tf").read_text(), str(tmp_path / "main.tf"))
    assert [r.address for r in resources] == ["aws_s3_bucket.b"] and skipped == []
    assert [p.message for p in problems] == ['module "again" calls itself; not followed further']


def test_a_dynamic_master_authorized_networks_config_is_not_reported_missing() -> None:
    found, errors = _findings(DATA / "gke", "CNSEC-TF-028")
    assert not errors, errors
    assert found == []


def test_a_dynamic_block_of_unknown_count_is_present_once_and_recorded_as_unknown() -> None:
    inv = load_inventory([str(DATA / "gke")], workers=1)
    [cluster] = inv.terraform
    assert cluster.unknown_blocks == {"master_authorized_networks_config", "cidr_blocks"}
    [cfg] = cluster.blocks("master_authorized_networks_config")
    assert cfg["cidr_blocks"][0]["cidr_block"].startswith("${")


def test_a_dynamic_block_over_a_callers_list_makes_one_block_per_item(tmp_path: Path) -> None:
    shutil.copytree(DATA / "gke", tmp_path / "gke")
    (tmp_path / "main.tf").write_text(
        'module "gke" {\n  source = "./gke"\n  master_authorized_networks_config = {\n'
        '    cidr_blocks = [{ display_name = "all", cidr_block = "0.0.0.0/0" },\n'
        '                   { display_name = "office", cidr_block = "203.0.113.0/24" }]\n  }\n}\n')
    found, _ = _findings(tmp_path / "main.tf", "CNSEC-TF-028")
    assert [(f.asset_id, "authorizes 0.0.0.0/0" in f.message) for f in found] == [
        ("module.gke.google_container_cluster.main", True)]


def test_a_dynamic_block_over_an_empty_list_makes_no_block(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "google_container_cluster" "c" {\n  dynamic "master_authorized_networks_config" {\n'
        '    for_each = []\n    content {}\n  }\n}\n')
    found, _ = _findings(tmp_path, "CNSEC-TF-028")
    assert [f.location for f in found] == ["master_authorized_networks_config"]


def test_a_data_source_is_not_assessed_as_a_resource() -> None:
    assert _parse(DATA / "gke_auth" / "main.tf") == []
    found, _ = _findings(DATA / "gke_auth", "CNSEC-TF-028")
    assert found == []


def test_a_policy_document_data_source_is_still_read(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('data "aws_iam_policy_document" "p" {\n  statement {\n'
                                      '    actions = ["*"]\n    resources = ["*"]\n  }\n}\n')
    assert _parse(tmp_path / "main.tf") == ["data.aws_iam_policy_document.p"]


def test_a_resource_with_count_zero_from_tfvars_is_not_assessed() -> None:
    assert _parse(DATA / "memorystore" / "memorystore.tf") == []
    found, _ = _findings(DATA / "memorystore", "CNSEC-TF-024")
    assert found == []


def test_literal_count_and_for_each_make_indexed_instances(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'locals {\n  names = ["a", "b"]\n}\n'
        'resource "aws_s3_bucket" "n" {\n  count  = 2\n  bucket = "n-${count.index}"\n}\n'
        'resource "aws_s3_bucket" "e" {\n  for_each = toset(local.names)\n  bucket = each.key\n}\n'
        'resource "aws_s3_bucket" "u" {\n  count  = length(aws_instance.x)\n  bucket = "u"\n}\n')
    inv = load_inventory([str(tmp_path)], workers=1)
    assert [(r.address, r.attrs["bucket"]) for r in inv.terraform] == [
        ("aws_s3_bucket.n[0]", "n-0"), ("aws_s3_bucket.n[1]", "n-1"),
        ('aws_s3_bucket.e["a"]', "a"), ('aws_s3_bucket.e["b"]', "b"), ("aws_s3_bucket.u", "u")]


def test_a_conditional_on_a_variable_default_is_evaluated(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'variable "public" {\n  default = true\n}\n'
        'resource "aws_eks_cluster" "c" {\n  vpc_config {\n'
        '    endpoint_public_access = var.public && length(local.missing) > 0 ? true : var.public\n  }\n}\n')
    inv = load_inventory([str(tmp_path)], workers=1)
    # local.missing is unknown, so the condition is: the whole value stays an expression
    assert inv.terraform[0].blocks("vpc_config")[0]["endpoint_public_access"].startswith("${")


def test_modules_fanning_out_stop_at_the_budget_and_say_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import cnsec.assess.loaders.terraform as tf

    monkeypatch.setattr(tf, "MAX_EXPANDED", 50)
    for level in range(12):  # each level calls the next twice: 4096 module instances unbounded
        d = tmp_path / f"m{level}"
        d.mkdir()
        (d / "main.tf").write_text(f'module "a" {{\n  source = "../m{level + 1}"\n}}\n'
                                   f'module "b" {{\n  source = "../m{level + 1}"\n}}\n' if level < 11 else
                                   'resource "aws_s3_bucket" "b" {\n  bucket = "x"\n}\n')
    root = tmp_path / "m0" / "main.tf"
    resources, problems, skipped = parse_terraform(root.read_text(), str(root))
    assert len(resources) < 50 and skipped == []
    assert [p.line for p in problems] == [1] and "not assessed" in problems[0].message


def test_a_long_chain_of_locals_is_unknown_past_its_limit_not_a_crash(tmp_path: Path) -> None:
    chain = "\n".join(f"  l{i} = local.l{i + 1}" for i in range(3000))
    (tmp_path / "main.tf").write_text(f'locals {{\n{chain}\n  l3000 = true\n}}\n'
                                      'resource "aws_eks_cluster" "c" {\n  vpc_config {\n'
                                      '    endpoint_public_access = local.l0\n  }\n}\n')
    resources, problems, skipped = parse_terraform((tmp_path / "main.tf").read_text(), str(tmp_path / "main.tf"))
    assert problems == [] and skipped == []
    assert resources[0].blocks("vpc_config")[0]["endpoint_public_access"] == "${local.l0}"


_ENCRYPTION = (  # the shape of terraform-aws-eks's encryption_config (variables.tf 178-185, main.tf 121-131)
    'variable "encryption_config" {\n  type = object({\n    provider_key_arn = optional(string)\n'
    '    resources        = optional(list(string), ["secrets"])\n  })\n  default = {}\n}\n'
    'resource "aws_eks_cluster" "this" {\n  dynamic "encryption_config" {\n'
    '    for_each = var.encryption_config != null ? [var.encryption_config] : []\n    content {\n'
    '      provider {\n        key_arn = aws_kms_key.this.arn\n      }\n'
    '      resources = encryption_config.value.resources\n    }\n  }\n}\n')


def test_an_optional_attribute_default_in_a_variable_type_is_applied(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(_ENCRYPTION)
    inv = load_inventory([str(tmp_path)], workers=1)
    assert inv.terraform[0].blocks("encryption_config")[0]["resources"] == ["secrets"]
    found, _ = _findings(tmp_path, "CNSEC-TF-014")
    assert found == []


def test_an_encryption_config_whose_resources_are_unknown_is_not_reported(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(_ENCRYPTION.replace("encryption_config.value.resources",
                                                          "aws_kms_key.this.tags"))
    found, _ = _findings(tmp_path, "CNSEC-TF-014")
    assert found == []


def test_node_pools_made_by_a_for_expression_over_a_variable_default_are_known_instances() -> None:
    """The GKE modules key their node pools with ``{ for np in var.node_pools : np.name => np }``; a
    for-expression was unknown, so every pool was one anonymous instance with unknown settings."""
    inv = load_inventory([str(DATA / "gke_pools")], workers=1)
    [pool] = inv.terraform
    assert pool.address == 'google_container_node_pool.pools["default-node-pool"]'
    shielded = pool.blocks("node_config")[0]["shielded_instance_config"][0]
    assert shielded == {"enable_secure_boot": False, "enable_integrity_monitoring": True}


@pytest.mark.parametrize(("expr", "value"), [
    ("[for np in var.pools : np.name]", ["a", "b"]),
    ("{for np in var.pools : np.name => lookup(np, \"image\", \"COS\")}", {"a": "COS", "b": "UBUNTU"}),
    ("[for i, np in var.pools : i if np.name != \"a\"]", [1]),
    ("{for np in var.pools : np.image => np.name...}", None),  # b has no… a has no image: unknown
    ("{for np in var.pools : \"k\" => np.name}", None),  # a duplicate key is Terraform's error: unknown
    ("zipmap([for np in var.pools : np.name], [1, 2])", {"a": 1, "b": 2}),
    ("[for np in data.x.pools : np.name]", None),  # an unknown collection
])
def test_for_expressions_are_evaluated_over_known_collections(expr: str, value: object) -> None:
    from cnsec.assess.loaders import tfeval

    scope = tfeval.Scope({"pools": [{"name": "a"}, {"name": "b", "image": "UBUNTU"}]}, {})
    result = tfeval.evaluate("${" + expr + "}", scope)
    unknown = not tfeval.is_known(result) or (isinstance(result, str) and result.startswith("${"))
    assert (None if unknown else result) == value



def test_nested_for_expressions_over_big_lists_stop_at_their_budget_as_unknown() -> None:
    """Nested loops multiply: 5,000 x 5,000 would be 25 million evaluations from two short lines."""
    from cnsec.assess.loaders import tfeval

    nested = "${[for a in var.xs : [for b in var.xs : a + b]]}"
    big = tfeval.evaluate(nested, tfeval.Scope({"xs": list(range(5000))}, {}))
    assert not tfeval.is_known(big)
    small = tfeval.evaluate(nested, tfeval.Scope({"xs": [1, 2]}, {}))
    assert small == [[2, 3], [3, 4]]
def test_for_expressions_over_known_values_make_the_instances_and_values_terraform_would(tmp_path: Path) -> None:
    # the shape of Checkov's example_EC2PublicIP (a for_each built by a for-expression) and of the
    # terraform-aws-modules listeners ("{ for k, v in var.listeners : k => v if local.create }")
    tf = tmp_path / "main.tf"
    tf.write_text(
        'variable "loop" {\n  default = [{ name = "a", public = true }, { name = "b", public = false }]\n}\n'
        'locals {\n  create = true\n  tags = [for k, v in { x = 1, y = 2 } : "${k}=${v}" if v > 1]\n'
        '  groups = { for s in ["a", "b", "a"] : s => s... }\n}\n'
        'resource "aws_instance" "web" {\n'
        '  for_each                    = { for v in var.loop : v.name => v.public if local.create }\n'
        "  associate_public_ip_address = each.value\n  tags = local.tags\n  groups = local.groups\n"
        "  later = [for s in var.unknown : s]\n}\n")
    parsed = parse_terraform(tf.read_text(), str(tf))
    got = {r.address: r.attrs for r in parsed.resources}
    assert set(got) == {'aws_instance.web["a"]', 'aws_instance.web["b"]'}
    assert got['aws_instance.web["a"]']["associate_public_ip_address"] is True
    assert got['aws_instance.web["b"]']["associate_public_ip_address"] is False
    assert got['aws_instance.web["a"]']["tags"] == ["y=2"]
    assert got['aws_instance.web["a"]']["groups"] == {"a": ["a", "a"], "b": ["b"]}
    assert got['aws_instance.web["a"]']["later"] == "${[for s in var.unknown : s]}"  # unknown, never guessed
