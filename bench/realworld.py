"""cnsec and Checkov over real public repositories neither was tuned on: agreement, judged extras, silence.

    .venv/bin/python bench/realworld.py --mirror /work/.mirror      # checkouts made from bare git mirrors
    .venv/bin/python bench/realworld.py --repos DIR                 # DIR/<name>/ already checked out
    .venv/bin/python bench/realworld.py --no-checkov                # cnsec's side only (fast)

The repositories, their commits and the paths taken are in ``bench/realworld/repos.yaml``: operator
bundles, an ingress controller, a service mesh's samples, official-image Dockerfiles and an EKS Terraform
module — what a new user points a scanner at on the first day.

What it measures, per repository and overall:

- **agreement** on equivalent checks: every Checkov id that some cnsec check names in its
  ``equivalents`` is compared resource by resource (file, Checkov id, resource). A cnsec finding covers
  the Checkov failures of any of its check's ids on its resource; agreement is covered failures /
  (covered failures + cnsec findings covering none + Checkov failures no finding covers). Checks with
  no Checkov equivalent are not in this figure.
- **cnsec-only findings**: what cnsec reports on an equivalent check where Checkov does not. Each one
  must be judged true or false in ``bench/realworld/review.yaml`` (by a stable key); the bench prints
  the unjudged ones and counts the false ones. Checkov-only failures are printed as misses.
- **skipped and errored files**: cnsec's own account of what it did not assess (templates, unreadable
  files, input errors), from its JSON report; a repository where cnsec assessed nothing is said so.
- **secrets false alarms per MB**: from ``bench/secrets_realworld.py`` when it is there (its own set of
  repositories and its own review file), else ``nan``.
- **Stratus Red Team coverage**: the AWS, EKS and Kubernetes techniques whose recorded detonation makes
  ``cnsec detect`` raise the technique's bundled rule (``tests/detect/data/stratus/cases.json``).

Last line: ``RESULT agree=<0..1> skipped=<files> errors=<files> extras_false=<n> extras_unjudged=<n>
secrets_fp_per_mb=<x> stratus_covered=<n>/<m>``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, checkout_paths, checkov_output, cnsec_exe, measure, peer_venv, terraform_block

CHECKOV = "checkov==3.3.30"
HERE = REPO / "bench" / "realworld"
REVIEW = HERE / "review.yaml"

Key = tuple[str, str, str]  # (file relative to the repository, Checkov id, resource)


@dataclass
class Repo:
    name: str
    repo: str
    commit: str
    paths: list[str]
    kind: str


@dataclass
class Side:
    keys: set[Key] = field(default_factory=set)
    seconds: float = 0.0
    detail: dict[Key, str] = field(default_factory=dict)  # key -> what the tool said (check id, message)
    #: cnsec only: one finding's keys, one per Checkov id its check names. A check naming several
    #: Checkov ids covers one concern Checkov splits (CNSEC-DKR-001 "runs as root" is CKV_DOCKER_3 "no
    #: USER" and CKV_DOCKER_8 "last USER is root"): it agrees when Checkov fails any of them there.
    groups: list[tuple[Key, ...]] = field(default_factory=list)


@dataclass
class Compared:
    both: set[Key]  # Checkov failures a cnsec finding covers
    extra: list[Key]  # cnsec findings none of whose Checkov ids failed there (first key of each)
    miss: set[Key]  # Checkov failures no cnsec finding names


def compare(cn: Side, ck: Side) -> Compared:
    covered = {k for group in cn.groups for k in group}
    extra = sorted({group[0] for group in cn.groups if not any(k in ck.keys for k in group)})
    return Compared(both=ck.keys & covered, extra=extra, miss=ck.keys - covered)


def load_repos() -> list[Repo]:
    raw = yaml.safe_load((HERE / "repos.yaml").read_text())
    return [Repo(r["name"], r["repo"], r["commit"], [str(p) for p in r["paths"]], r.get("kind", "")) for r in raw]


def checkout(repo: Repo, mirror: Path | None, into: Path) -> Path | None:
    """The repository's chosen paths at the chosen commit, as files under ``into/<name>``."""
    return checkout_paths(repo.repo, repo.commit, repo.paths, mirror, into / repo.name)


def checkov_ids_of_cnsec() -> dict[str, list[str]]:
    """Checkov id -> the cnsec checks that name it as an equivalent."""
    out = subprocess.run([*cnsec_exe(), "checks", "list", "-f", "json"], capture_output=True, check=True).stdout
    table: dict[str, list[str]] = {}
    for check in json.loads(out):
        for ckv in (check.get("equivalents") or {}).get("checkov", []):
            table.setdefault(ckv, []).append(check["id"])
    return table


_K8S_RES = re.compile(r"^(?P<kind>[A-Za-z]+)\.(?P<ns>[^.]*)\.(?P<name>.+)$")


def resource_key(framework: str, resource: str) -> str:
    """One spelling for the resource both tools name: ``kind/name`` for Kubernetes, the address for
    Terraform, nothing for a Dockerfile (its checks are about the file)."""
    if framework == "dockerfile":
        return ""
    if framework == "kubernetes":
        m = _K8S_RES.match(resource)
        return f"{m['kind'].lower()}/{m['name']}" if m else resource.lower()
    return terraform_block(resource)


def cnsec_resource_key(finding: dict[str, Any], asset: dict[str, Any] | None) -> tuple[str, str]:
    """(framework, resource key) of a cnsec finding, from its asset."""
    path = str((finding.get("source") or {}).get("file", ""))
    name = Path(path).name.lower()
    if name in ("dockerfile", "containerfile") or name.startswith("dockerfile.") or name.endswith(".dockerfile"):
        return "dockerfile", ""
    if path.endswith(".tf") or path.endswith(".tf.json"):
        return "terraform", terraform_block(str(finding.get("asset_id", "")))
    kind = str((asset or {}).get("kind") or "").lower()
    name_ = str((asset or {}).get("name") or "")
    return "kubernetes", f"{kind}/{name_}"


def run_cnsec(root: Path, equivalents: dict[str, list[str]]) -> tuple[Side, dict[str, Any]]:
    m = measure([*cnsec_exe(), "assess", ".", "-f", "json", "--fail-on", "none"], cwd=root)
    report = json.loads(m.stdout or b"{}")
    assets = {a["id"]: a for a in report.get("assets", [])}
    side = Side(seconds=m.seconds)
    wanted = set(equivalents)
    for f in report.get("findings", []):
        if f.get("suppressed"):
            continue
        _, res = cnsec_resource_key(f, assets.get(f.get("asset_id")))
        file = str(f.get("source", {}).get("file", ""))
        file = str(Path(file).resolve().relative_to(root.resolve())) if Path(file).is_absolute() else file
        file = os.path.normpath(file)
        group = tuple((file, ckv, res) for ckv in sorted((f.get("equivalents") or {}).get("checkov", []))
                      if ckv in wanted)
        if group:
            side.groups.append(group)
            side.keys.update(group)
            for key in group:
                side.detail.setdefault(key, f"{f['check_id']}: {f.get('message', '')}")
    return side, report


def run_checkov(venv_dir: Path, root: Path, equivalents: dict[str, list[str]], cache: Path,
                reuse: bool) -> tuple[Side, int]:
    """Checkov's failed checks on the equivalent ids. Its output depends on the checkout alone (repository,
    commit, Checkov version), so it is kept in ``cache`` and read back when asked (``--checkov-cache``):
    Checkov takes minutes a repository, and the seconds it took are kept with it."""
    seconds, out = checkov_output(venv_dir, root, "kubernetes,dockerfile,terraform", cache, reuse)
    side = Side(seconds=seconds)
    try:
        data = json.loads(out or b"[]")
    except json.JSONDecodeError:
        return side, -1
    failed = 0
    for block in data if isinstance(data, list) else [data]:
        framework = str(block.get("check_type", ""))
        for c in block.get("results", {}).get("failed_checks", []):
            failed += 1
            if c["check_id"] not in equivalents:
                continue
            file = str(c.get("file_path", "")).lstrip("/")
            key = (file, c["check_id"], resource_key(framework, str(c.get("resource", ""))))
            side.keys.add(key)
            side.detail[key] = f"{c['check_id']}: {c.get('check_name', '')}"
    return side, failed


def review_key(repo: str, key: Key) -> str:
    return f"{repo}|{key[0]}|{key[1]}|{key[2]}"


def load_review() -> dict[str, dict[str, str]]:
    if not REVIEW.exists():
        return {}
    raw = yaml.safe_load(REVIEW.read_text()) or []
    return {r["key"]: r for r in raw}


def secrets_fp_per_mb() -> str:
    script = REPO / "bench" / "secrets_realworld.py"
    if not script.exists():
        return "nan"
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True).stdout
    m = re.search(r"^RESULT .*secrets_fp_per_mb=(\S+)", out, re.M)
    return m.group(1) if m else "nan"


def stratus_covered() -> str:
    """Techniques whose recorded detonation makes ``cnsec detect`` raise the technique's bundled rule, run
    through the CLI one technique at a time (``tests/detect/data/stratus/cases.json``: every AWS, EKS and
    Kubernetes technique of Stratus Red Team at the commit it names)."""
    cases_file = REPO / "tests" / "detect" / "data" / "stratus" / "cases.json"
    if not cases_file.exists():
        return "0/0"
    cases = json.loads(cases_file.read_text())["cases"]
    covered = 0
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            events = Path(tmp) / "events.jsonl"
            events.write_text("".join(json.dumps(e) + "\n" for e in case["detonation"]))
            out = subprocess.run([*cnsec_exe(), "detect", str(events), "-f", "jsonl"], capture_output=True,
                                 text=True).stdout
            fired = {json.loads(line).get("rule_id") for line in out.splitlines() if line.strip()}
            covered += bool(case.get("rule")) and case["rule"] in fired
    return f"{covered}/{len(cases)}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirror", type=Path, help="folder of bare git mirrors (<owner>+<name>/repo)")
    ap.add_argument("--repos", type=Path, default=REPO / "bench" / "out" / "realworld",
                    help="folder of checkouts, one per repository name (made from --mirror when given)")
    ap.add_argument("--no-checkov", action="store_true", help="cnsec's side only")
    ap.add_argument("--checkov-cache", action="store_true",
                    help="reuse Checkov's output from an earlier run on the same commit (bench/out/realworld-checkov/)")
    ap.add_argument("--unjudged-out", type=Path,
                    help="write the unjudged cnsec-only findings to this YAML file, for review.yaml")
    ap.add_argument("--show", type=int, default=15, help="how many unjudged extras and misses to print")
    args = ap.parse_args()

    repos = load_repos()
    equivalents = checkov_ids_of_cnsec()
    venv_dir = None if args.no_checkov else peer_venv("checkov", [CHECKOV])
    review = load_review()
    both_total = either_total = skipped_total = errors_total = 0
    unjudged: list[str] = []
    unjudged_rows: list[dict[str, str]] = []
    false_extras = true_extras = 0
    misses: list[str] = []
    absent: list[str] = []
    cn_s = ck_s = 0.0
    print(f"{'repository':22} {'files':>5} {'cnsec':>6} {'checkov':>7} {'agree':>6} {'extra':>5} {'miss':>5} "
          f"{'skip':>4} {'err':>4} {'cnsec s':>8} {'ckv s':>7}")
    for repo in repos:
        root = checkout(repo, args.mirror, args.repos)
        if root is None:
            absent.append(repo.name)
            print(f"{repo.name:22} absent: no checkout in {args.repos} (give --mirror); not measured")
            continue
        cn, report = run_cnsec(root, equivalents)
        summary = report.get("summary", {})
        assert isinstance(summary, dict)
        # files cnsec left out and said so: templates, a chart that rendered nothing (render helper, #14)
        skipped = len({str(e.get("file", e)) if isinstance(e, dict) else str(e) for e in report.get("skipped") or []})
        errors = len({str(e.get("file", e)) if isinstance(e, dict) else str(e) for e in report.get("errors") or []})
        skipped_total += skipped
        errors_total += errors
        cn_s += cn.seconds
        if venv_dir is not None:
            cache = REPO / "bench" / "out" / "realworld-checkov" / f"{repo.name}-{repo.commit[:12]}.json"
            ck, ck_failed = run_checkov(venv_dir, root, equivalents, cache, args.checkov_cache)
            ck_s += ck.seconds
            cmp = compare(cn, ck)
            both_total += len(cmp.both)
            either_total += len(cmp.both) + len(cmp.extra) + len(cmp.miss)
            for key in cmp.extra:
                verdict = review.get(review_key(repo.name, key))
                if verdict is None:
                    unjudged.append(f"{review_key(repo.name, key)}  ({cn.detail[key][:100]})")
                    unjudged_rows.append({"key": review_key(repo.name, key), "said": cn.detail[key],
                                          "verdict": "?", "why": ""})
                elif str(verdict.get("verdict")).lower() == "true":
                    true_extras += 1
                else:
                    false_extras += 1
            misses += [f"{review_key(repo.name, key)}  ({ck.detail[key][:80]})" for key in sorted(cmp.miss)]
            either = len(cmp.both) + len(cmp.extra) + len(cmp.miss)
            agree = f"{len(cmp.both) / either:.2f}" if either else "  - "
            print(f"{repo.name:22} {summary.get('files', 0):>5} {summary.get('findings', 0):>6} {ck_failed:>7} "
                  f"{agree:>6} {len(cmp.extra):>5} {len(cmp.miss):>5} {skipped:>4} {errors:>4} "
                  f"{cn.seconds:>8.2f} {ck.seconds:>7.1f}")
        else:
            print(f"{repo.name:22} {summary.get('files', 0):>5} {summary.get('findings', 0):>6} {'-':>7} {'-':>6} "
                  f"{'-':>5} {'-':>5} {skipped:>4} {errors:>4} {cn.seconds:>8.2f} {'-':>7}")
        if not summary.get("resources") and not summary.get("files"):
            print(f"{'':22} cnsec assessed nothing here")
        for e in (report.get("errors") or [])[: 3]:
            print(f"{'':22} error: {str(e)[:150]}")
    if venv_dir is not None:
        print(f"\ncnsec-only findings on equivalent checks: {true_extras} judged true, {false_extras} judged false, "
              f"{len(unjudged)} not judged (bench/realworld/review.yaml)")
        for line in unjudged[: args.show]:
            print(f"  unjudged {line}")
        print(f"Checkov-only failures on equivalent checks (cnsec misses): {len(misses)}")
        by_check = Counter(m.split("|")[2] for m in misses)
        print("  by Checkov id: " + ", ".join(f"{k} {v}" for k, v in by_check.most_common(12)))
        for line in misses[: args.show]:
            print(f"  miss {line}")
        print(f"time: cnsec {cn_s:.1f}s, checkov {ck_s:.1f}s ({ck_s / max(cn_s, 1e-9):.0f}x)")
    if args.unjudged_out is not None:
        args.unjudged_out.write_text(yaml.safe_dump(unjudged_rows, sort_keys=False, width=200))
    if absent:
        print(f"absent (not measured): {', '.join(absent)}")
    agree_all = f"{both_total / either_total:.3f}" if either_total else "nan"
    print(f"RESULT agree={agree_all} skipped={skipped_total} errors={errors_total} extras_false={false_extras} "
          f"extras_unjudged={len(unjudged)} "
          f"secrets_fp_per_mb={secrets_fp_per_mb()} stratus_covered={stratus_covered()}")


if __name__ == "__main__":
    main()
