"""Agreement of cnsec's checks with the peers' own labelled fixtures.

    .venv/bin/python bench/assess_accuracy.py

For every cnsec check whose ``equivalents`` name a Checkov id, run it on Checkov's labelled fixtures
(``checkov-tests/tests/kubernetes/checks/example_*/*-PASSED|FAILED.*`` and the Dockerfile
``success*/failure*`` folders) and on its Terraform test examples; for every check naming a
Kubescape control, on the inputs of that control's rules
(``kubescape-regolibrary/rules/<rule>/test/<case>/input`` with ``expected.json``). A fixture agrees
when cnsec reports the check on a FAILED/expected input and does not on a PASSED one.

Checkov's Terraform tests (``tests/terraform/checks/{resource,data,module}/**/test_*.py`` at the
commit of the shared corpus) label resources, not files: each test runs one check on its
``example_*`` folder and lists ``passing_resources`` and ``failing_resources``. They are read from
the bare mirror of bridgecrewio/checkov (``--mirror``; the fetch tool makes it) and every labelled
resource is one fixture: it agrees when cnsec reports the equivalent check on that resource exactly
when Checkov's label says it fails. Tests without such sets (about a fifth) are left out and counted.

Which example folder tests which Checkov id is not in the labels, so the script asks Checkov once
(installed into bench/.venv-checkov): the id whose failures in a folder are exactly the FAILED files.

Last line: ``RESULT agreement=<percent> checkov_agreement=<percent> kubescape_agreement=<percent>
terraform_agreement=<percent> fixtures=<n> checks=<n>``.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, checkout_paths, peer_venv, require_corpus, terraform_block

sys.path.insert(0, str(REPO / "src"))

from cnsec.assess.checks.base import registry
from cnsec.assess.config import Config
from cnsec.assess.engine import assess

CACHE = REPO / "bench" / "out" / "checkov-fixture-map-v2.json"
CHECKOV_REPO = "bridgecrewio/checkov"
#: The commit of ../shared/corpora/assess/checkov-tests (its SOURCES.md), for the Terraform tests.
CHECKOV_COMMIT = "03d5fdad8d6154b1565799a7b1fb8070c158866f"
TF_TESTS = [f"tests/terraform/checks/{kind}" for kind in ("resource", "data", "module")]
_CHECK_ID = re.compile(r'\bid\s*=\s*"(CKV2?_[A-Z0-9]+_\d+)"')


def label_of(path: Path) -> str | None:
    name = path.name.upper()
    for part in (name, *(p.upper() for p in path.parent.parts[-1:])):
        if "FAILED" in part or part.startswith("FAILURE"):
            return "FAILED"
        if "PASSED" in part or part.startswith("SUCCESS"):
            return "PASSED"
    return None


def labelled_files(root: Path) -> dict[Path, dict[Path, str]]:
    """example folder -> {file: label}."""
    out: dict[Path, dict[Path, str]] = defaultdict(dict)
    for example in sorted(root.glob("example_*")):
        for f in sorted(example.rglob("*")):
            if f.is_file():
                lab = label_of(f)
                if lab:
                    out[example][f] = lab
    return out


def checkov_map(corpus: Path, examples: dict[Path, dict[Path, str]]) -> dict[str, list[str]]:
    """example folder name -> Checkov id, derived from one Checkov run (cached)."""
    if CACHE.exists():
        cached: dict[str, list[str]] = json.loads(CACHE.read_text())
        return cached
    venv = peer_venv("checkov", ["checkov==3.3.30"])
    failures: dict[str, set[str]] = defaultdict(set)
    for framework, sub in (("kubernetes", "kubernetes"), ("dockerfile", "dockerfile")):
        root = corpus / "checkov-tests" / "tests" / sub / "checks"
        proc = subprocess.run([str(venv / "bin" / "checkov"), "-d", str(root), "--framework", framework,
                               "-o", "json", "--quiet", "--compact", "--skip-download"],
                              capture_output=True, check=False)
        data = json.loads(proc.stdout or b"[]")
        for block in data if isinstance(data, list) else [data]:
            for fc in block.get("results", {}).get("failed_checks", []):
                failures[fc["check_id"]].add(str(root) + fc["file_path"])
    mapping: dict[str, list[str]] = {}
    for example, files in examples.items():
        failed = {str(f) for f, lab in files.items() if lab == "FAILED"}
        inside = {str(f) for f in files}
        scored = []
        for cid, fails in failures.items():
            here = fails & inside
            if here == failed and failed:
                scored.append((len(here) / len(fails), cid))
        if scored:
            top = max(s for s, _ in scored)
            # a folder can test two ids (e.g. liveness and readiness); keep every id concentrated here
            mapping[example.name] = sorted(cid for s, cid in scored if s >= top / 2)
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    CACHE.write_text(json.dumps(mapping, indent=1, sort_keys=True))
    return mapping


CLOUD_API_GROUPS = ("eks.amazonaws.com", "management.azure.com", "container.googleapis.com")


def cloud_only(inputs: Path) -> bool:
    """Kubescape cases whose input is a cloud provider's cluster description, which cnsec does not read."""
    texts = [p.read_text(errors="replace") for p in inputs.rglob("*") if p.is_file()]
    return bool(texts) and all("ClusterDescribe" in t and any(g in t for g in CLOUD_API_GROUPS) for t in texts)


def findings_by_file(paths: list[Path], check_ids: set[str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for p in paths:
        report = assess([str(p)], Config(), only=check_ids)
        for f in report.findings:
            out[str(Path(f.source.file).resolve())].add(f.check_id)
    return out


def _string_set(node: ast.AST) -> set[str] | None:
    if isinstance(node, ast.Set) and all(isinstance(e, ast.Constant) and isinstance(e.value, str)
                                         for e in node.elts):
        return {str(e.value) for e in node.elts}  # type: ignore[attr-defined]
    return None


def terraform_tests(root: Path, checkov_pkg: Path) -> tuple[list[tuple[str, Path, set[str], set[str]]], int]:
    """(Checkov id, example folder, passing resources, failing resources) of each Terraform test
    function that names its sets, and how many test functions did not."""
    out = []
    left_out = 0
    for test in sorted(root.rglob("test_*.py")):
        tree = ast.parse(test.read_text())
        module = next((n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
                       and n.module.startswith("checkov.terraform.checks.")
                       and any(a.name == "check" for a in n.names)), None)
        if module is None:
            continue
        source = checkov_pkg / (module.replace(".", "/") + ".py")
        m = _CHECK_ID.search(source.read_text()) if source.exists() else None
        if m is None:
            continue
        for fn in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name.startswith("test")):
            sets: dict[str, set[str]] = {}
            folder = None
            for node in ast.walk(fn):
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    found = _string_set(node.value)
                    name = node.targets[0].id
                    if found is not None and ("passing" in name or "failing" in name):
                        sets["pass" if "passing" in name else "fail"] = found
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                        node.value.startswith("example_") and folder is None:
                    folder = test.parent / node.value
            if folder is None or not folder.is_dir():
                continue  # a unit test of the check function on a configuration dict: no example
            if "pass" not in sets or "fail" not in sets:
                left_out += 1
                continue
            out.append((m.group(1), folder, sets["pass"], sets["fail"]))
    return out, left_out


def terraform_rows(mirror: Path, checks: dict[str, Any]) -> tuple[list[tuple[str, str, int, int, list[str]]], int,
                                                                  set[str]]:
    """Agreement rows on Checkov's labelled Terraform resources; (rows, tests left out, ids without tests)."""
    root = checkout_paths(CHECKOV_REPO, CHECKOV_COMMIT, TF_TESTS, mirror, REPO / "bench" / "out" / "checkov-tf-tests")
    if root is None:
        print(f"no mirror of {CHECKOV_REPO} under {mirror} (fetch it): Checkov's Terraform tests not measured")
        return [], 0, set()
    venv = peer_venv("checkov", ["checkov==3.3.30"])
    pkg = next((venv / "lib").glob("python3*/site-packages"))
    tests, left_out = terraform_tests(root / "tests" / "terraform" / "checks", pkg)
    by_id: dict[str, list[tuple[Path, set[str], set[str]]]] = defaultdict(list)
    for ckv, folder, passing, failing in tests:
        by_id[ckv].append((folder, passing, failing))
    rows = []
    invalid: set[str] = set()
    for cid, chk in checks.items():
        if chk.target not in ("terraform", "inventory"):
            continue
        for ckv in chk.equivalents.get("checkov", ()):
            for folder, passing, failing in by_id.get(ckv, []):
                report = assess([str(folder)], Config(), only={cid})
                if report.errors:  # e.g. Terraform 0.11 syntax Checkov reads leniently: cnsec says so
                    invalid.add(f"{folder.name}: {report.errors[0].message}")
                    continue
                # Checkov labels instances ('aws_instance.x["a"]', 'module.m["b"].aws_instance.x') and
                # module calls by name alone ("tag"): compare addresses, blocks where a label has none
                found = [f.asset_id.partition("@")[0] for f in report.findings if f.check_id == cid]
                ok = n = 0
                misses: list[str] = []
                for res in sorted(passing | failing):
                    label = f"module.{res}" if ckv.startswith("CKV_TF_") else res
                    hit = label in found or any(a.endswith("." + label) for a in found) or (
                        "[" not in label and terraform_block(label) in {terraform_block(a) for a in found})
                    agree = hit == (res in failing)
                    ok += agree
                    n += 1
                    if not agree:
                        misses.append(f"{res} ({'FAILED' if res in failing else 'PASSED'}, cnsec "
                                      f"{'hit' if hit else 'clean'})")
                rows.append((cid, f"checkov {ckv} {folder.name}", ok, n, misses))
    for why in sorted(invalid):
        print(f"left out, cnsec reports the example as invalid input: {why}")
    return rows, left_out, set(by_id)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirror", type=Path, default=Path("/work/.mirror"),
                    help="folder of bare git mirrors (<owner>+<name>/repo), for Checkov's Terraform tests")
    args = ap.parse_args()
    corpus = require_corpus("assess")
    checks = registry()
    k8s_examples = labelled_files(corpus / "checkov-tests/tests/kubernetes/checks")
    dkr_examples = labelled_files(corpus / "checkov-tests/tests/dockerfile/checks")
    examples = {**k8s_examples, **dkr_examples}
    mapping = checkov_map(corpus, examples)
    by_ckv: dict[str, list[Path]] = defaultdict(list)
    for example_name, ckvs in mapping.items():
        for ckv in ckvs:
            by_ckv[ckv].extend(e for e in examples if e.name == example_name)

    rows: list[tuple[str, str, int, int, list[str]]] = []
    ck_ok = ck_total = 0
    roots = [corpus / "checkov-tests/tests/kubernetes/checks", corpus / "checkov-tests/tests/dockerfile/checks"]
    found = findings_by_file(roots, {c.id for c in checks.values() if c.equivalents.get("checkov")})
    for cid, chk in checks.items():
        for ckv in chk.equivalents.get("checkov", ()):
            for example in by_ckv.get(ckv, []):
                ok = n = 0
                misses: list[str] = []
                for f, lab in examples[example].items():
                    hit = cid in found.get(str(f.resolve()), set())
                    agree = hit == (lab == "FAILED")
                    ok += agree
                    n += 1
                    if not agree:
                        misses.append(f"{f.name} ({lab}, cnsec {'hit' if hit else 'clean'})")
                rows.append((cid, f"checkov {ckv} {example.name}", ok, n, misses))
                ck_ok += ok
                ck_total += n

    controls: dict[str, list[str]] = {}
    for cf in (corpus / "kubescape-regolibrary/controls").glob("*.json"):
        data = json.loads(cf.read_text())
        controls[data.get("controlID", "")] = list(data.get("rulesNames", []))
    ks_ok = ks_total = 0
    skipped_cloud = 0
    for cid, chk in checks.items():
        for ctrl in chk.equivalents.get("kubescape", ()):
            ok = n = 0
            misses = []
            for rule in controls.get(ctrl, []):
                test_root = corpus / "kubescape-regolibrary/rules" / rule / "test"
                for case in sorted(p for p in test_root.glob("*") if (p / "expected.json").exists()):
                    inputs = case / "input"
                    if not inputs.is_dir():
                        continue
                    if cloud_only(inputs):
                        skipped_cloud += 1
                        continue
                    expected = json.loads((case / "expected.json").read_text() or "[]")
                    report = assess([str(inputs)], Config(), only={cid})
                    hit = any(f.check_id == cid for f in report.findings)
                    agree = hit == bool(expected)
                    ok += agree
                    n += 1
                    if not agree:
                        misses.append(f"{rule}/{case.name} (expected {'fail' if expected else 'pass'})")
            if n:
                rows.append((cid, f"kubescape {ctrl}", ok, n, misses))
                ks_ok += ok
                ks_total += n

    tf_rows, tf_left_out, tf_tested = terraform_rows(args.mirror, checks)
    tf_ok = sum(r[2] for r in tf_rows)
    tf_total = sum(r[3] for r in tf_rows)
    rows += tf_rows
    ck_ok += tf_ok
    ck_total += tf_total

    print(f"{'check':15} {'peer fixture set':60} {'agree':>9}")
    for cid, what, ok, n, misses in rows:
        print(f"{cid:15} {what[:60]:60} {ok:>4}/{n:<4}")
        for m in misses[:4]:
            print(f"{'':17}disagrees: {m}")
    total_ok, total = ck_ok + ks_ok, ck_total + ks_total
    pct = 100 * total_ok / total if total else float("nan")
    ck = 100 * ck_ok / ck_total if ck_total else float("nan")
    ks = 100 * ks_ok / ks_total if ks_total else float("nan")
    unmapped = sorted({ckv for c in checks.values() for ckv in c.equivalents.get("checkov", ())} - set(by_ckv)
                      - tf_tested)
    if unmapped:
        print(f"no labelled Checkov fixtures for: {', '.join(unmapped)}")
    print(f"checkov fixtures {ck_ok}/{ck_total} ({ck:.1f}%), kubescape cases {ks_ok}/{ks_total} ({ks:.1f}%); "
          f"{skipped_cloud} Kubescape cases left out: their input is a cloud ClusterDescribe, not Kubernetes")
    tf = 100 * tf_ok / tf_total if tf_total else float("nan")
    print(f"terraform: {tf_ok}/{tf_total} labelled resources agree ({tf:.1f}%) over "
          f"{len({r[1] for r in tf_rows})} Checkov test examples; {tf_left_out} Checkov test functions "
          "on an example folder name no passing/failing resource sets and are left out")
    print(f"RESULT agreement={pct:.1f} checkov_agreement={ck:.1f} kubescape_agreement={ks:.1f} "
          f"terraform_agreement={tf:.1f} fixtures={total} checks={len({r[0] for r in rows})}")


if __name__ == "__main__":
    main()
