"""cnsec against Checkov on real public cloud Terraform: coverage of ALL Checkov's failures, judged extras, speed.

    .venv/bin/python bench/assess_cloud.py --mirror /work/.mirror --checkov-cache
    .venv/bin/python bench/assess_cloud.py --mirror /work/.mirror --cloud aws --todo-dir /work/wt

The Terraform measured is listed per cloud in ``bench/cloud/<cloud>.yaml`` (aws, azure, gcp): a list of
``{repo: owner/name, commit: <40 hex>, paths: [files or folders, "." for all], why: …}``, none of it
written by us. Each repository is read from the bare mirror the fetch tool makes
(``--mirror``/<owner>+<name>/repo) and its paths are checked out at the commit under
``bench/out/cloud/<cloud>/``.

What it measures, per cloud and overall:

- **coverage**: every (file, Checkov id, resource) that Checkov's Terraform framework fails is covered
  when a cnsec finding on the same file and resource names that Checkov id in its check's
  ``equivalents``. ALL of Checkov's Terraform failures count, not only checks cnsec has an equivalent
  for. Failures judged wrong in ``bench/cloud/review-<cloud>.yaml`` (``checkov_wrong``: a whole id or
  one failure by key) leave the denominator; the raw figure with them is printed too.
- **cnsec-only findings**: cnsec findings on Terraform files none of whose Checkov ids failed on that
  resource (including checks with no Checkov equivalent). Each must be judged true or false in the
  review file (``cnsec_only``); the unjudged and the false ones are counted.
- **wall time**: cnsec's median of ``--runs`` runs per repository, summed; Checkov's one run (cached
  with its output under ``bench/out/cloud-checkov/`` and reused with ``--checkov-cache``).
- **to-do**: the uncovered Checkov ids per cloud, most frequent first, printed and written to
  ``<todo-dir>/cloud-todo-<cloud>.txt``.

Keys (review file, to-do): ``<owner/name>|<file in the repo>|<check id>|<type.name>`` where module calls
and instances are folded into the block (``module.x.aws_s3_bucket.this[0]`` is ``aws_s3_bucket.this``).

Last line: ``RESULT cover_aws=… cover_azure=… cover_gcp=… cover_all=… raw_cover_all=… vs_checkov=…
tf_checks=… extras_unjudged=… extras_false=…``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    REPO,
    checkout_paths,
    checkov_cpu_seconds,
    checkov_output,
    cnsec_exe,
    compile_sources,
    measure,
    peer_venv,
    terraform_block,
)

CHECKOV = "checkov==3.3.30"
CLOUDS = ("aws", "azure", "gcp")

Key = tuple[str, str, str]  # (file relative to the repository, check id, type.name)


@dataclass
class Source:
    repo: str
    commit: str
    paths: list[str]
    why: str

    @property
    def slug(self) -> str:
        return self.repo.replace("/", "+")


@dataclass
class Tally:
    """One cloud's figures, summed over its repositories."""

    covered: int = 0
    failures: int = 0  # Checkov failures not judged wrong
    wrong: int = 0  # Checkov failures judged wrong (left out of ``failures``)
    cnsec_s: float = 0.0
    checkov_s: float = 0.0
    #: CPU seconds over the repositories where both are known (Checkov caches before they were kept
    #: have none): the load of the shared machine inflates wall times, not these
    cnsec_cpu: float = 0.0
    checkov_cpu: float = 0.0
    extras_true: int = 0
    extras_false: int = 0
    unjudged: list[dict[str, str]] = field(default_factory=list)
    uncovered: Counter[str] = field(default_factory=Counter)
    sample: dict[str, str] = field(default_factory=dict)  # Checkov id -> one uncovered key
    missed: list[dict[str, str]] = field(default_factory=list)  # every uncovered failure, to judge
    names: dict[str, str] = field(default_factory=dict)  # Checkov id -> its name


def load_sources(cloud_dir: Path, cloud: str) -> list[Source] | None:
    path = cloud_dir / f"{cloud}.yaml"
    if not path.exists():
        return None
    raw = yaml.safe_load(path.read_text()) or []
    return [Source(str(r["repo"]), str(r["commit"]), [str(p) for p in r.get("paths") or ["."]], str(r.get("why", "")))
            for r in raw]


def load_review(cloud_dir: Path, cloud: str) -> tuple[dict[str, dict[str, Any]], set[str], set[str]]:
    """(cnsec-only verdicts by key, Checkov ids judged wrong, Checkov failure keys judged wrong)."""
    path = cloud_dir / f"review-{cloud}.yaml"
    raw = (yaml.safe_load(path.read_text()) or {}) if path.exists() else {}
    verdicts = {str(r["key"]): r for r in raw.get("cnsec_only") or []}
    wrong_ids = {str(r["check"]) for r in raw.get("checkov_wrong") or [] if r.get("check")}
    wrong_keys = {str(r["key"]) for r in raw.get("checkov_wrong") or [] if r.get("key")}
    return verdicts, wrong_ids, wrong_keys


def relative(file: str, root: Path) -> str:
    path = Path(file)
    if path.is_absolute():
        try:
            return os.path.normpath(str(path.resolve().relative_to(root.resolve())))
        except ValueError:
            return os.path.normpath(file)
    return os.path.normpath(file.lstrip("/"))


def checkov_failures(out: bytes) -> tuple[dict[Key, str], bool]:
    """Checkov's Terraform failures as key -> check name; False when its output was not JSON."""
    try:
        data = json.loads(out or b"[]")
    except json.JSONDecodeError:
        return {}, False
    failed: dict[Key, str] = {}
    for block in data if isinstance(data, list) else [data]:
        if block.get("check_type") != "terraform":
            continue
        for c in block.get("results", {}).get("failed_checks", []):
            # Checkov names files from the scanned folder with a leading "/" ("/main.tf")
            resource = terraform_block(str(c.get("resource", "")))
            if str(c["check_id"]).startswith("CKV_TF_"):  # module checks name the call ("vpc", "outer.vpc")
                resource = f"module.{resource.rsplit('.', 1)[-1]}"
            key = (os.path.normpath(str(c.get("file_path", "")).lstrip("/")), str(c["check_id"]), resource)
            failed[key] = str(c.get("check_name") or "")
    return failed, True


def cnsec_findings(root: Path, runs: int) -> tuple[list[tuple[Key, tuple[Key, ...], str]], float, float,
                                                  dict[str, Any]]:
    """cnsec's findings on Terraform files: (its own key, the Checkov keys it covers, what it said), the
    median wall and CPU seconds of ``runs`` runs, and the report."""
    times = []
    cpu = []
    report: dict[str, Any] = {}
    for _ in range(max(runs, 1)):
        m = measure([*cnsec_exe(), "assess", ".", "-f", "json", "--fail-on", "none"], cwd=root)
        times.append(m.seconds)
        cpu.append(m.cpu_seconds)
        try:
            report = json.loads(m.stdout or b"")
        except json.JSONDecodeError:
            raise SystemExit(f"cnsec gave no JSON report on {root} (exit {m.returncode}): run "
                             f"`cnsec assess {root}` to see why") from None
    found = []
    for f in report.get("findings", []):
        file = str((f.get("source") or {}).get("file", ""))
        if f.get("suppressed") or not (file.endswith(".tf") or file.endswith(".tf.json")):
            continue
        file = relative(file, root)
        res = terraform_block(str(f.get("asset_id", "")))
        covers = tuple((file, ckv, res) for ckv in sorted((f.get("equivalents") or {}).get("checkov", [])))
        found.append(((file, str(f["check_id"]), res), covers, f"{f['check_id']}: {f.get('message', '')}"))
    return found, statistics.median(times), statistics.median(cpu), report


def terraform_checks() -> int:
    out = subprocess.run([*cnsec_exe(), "checks", "list", "-f", "json"], capture_output=True, check=True).stdout
    return sum(1 for c in json.loads(out) if c.get("target") == "terraform")


def key_text(repo: str, key: Key) -> str:
    return f"{repo}|{key[0]}|{key[1]}|{key[2]}"


def measure_cloud(cloud: str, sources: list[Source], args: argparse.Namespace, venv_dir: Path) -> Tally:
    verdicts, wrong_ids, wrong_keys = load_review(args.cloud_dir, cloud)
    tally = Tally()
    print(f"\n== {cloud} ==")
    print(f"{'repository':52} {'ckv fail':>8} {'covered':>7} {'wrong':>5} {'extra':>5} {'cnsec s':>8} {'ckv s':>7}")
    for src in sources:
        if args.only and args.only not in src.repo:
            continue
        root = checkout_paths(src.repo, src.commit, src.paths, args.mirror,
                              REPO / "bench" / "out" / "cloud" / cloud / src.slug)
        if root is None:
            print(f"{src.repo:52} absent: no mirror at {args.mirror}/{src.slug}/repo (fetch it); not measured")
            continue
        digest = hashlib.sha256(" ".join(src.paths).encode()).hexdigest()[:8]
        cache = REPO / "bench" / "out" / "cloud-checkov" / f"{src.slug}-{src.commit[:12]}-{digest}.json"
        if args.cached_only and not cache.exists():
            print(f"{src.repo:52} no cached Checkov output yet (--cached-only): not measured")
            continue
        ck_s, out = checkov_output(venv_dir, root, "terraform", cache, args.checkov_cache)
        failed, ok = checkov_failures(out)
        if not ok:
            print(f"{src.repo:52} Checkov gave no JSON output; its side not measured")
        found, cn_s, cn_cpu, report = cnsec_findings(root, args.runs)
        ck_cpu = checkov_cpu_seconds(cache)
        if ck_cpu is not None:
            tally.cnsec_cpu += cn_cpu
            tally.checkov_cpu += ck_cpu
        covers = {k for _, group, _ in found for k in group}
        covered = wrong = 0
        for key, name in failed.items():
            tally.names[key[1]] = name
            if key[1] in wrong_ids or key_text(src.repo, key) in wrong_keys:
                wrong += 1
                continue
            if key in covers:
                covered += 1
            else:
                tally.uncovered[key[1]] += 1
                tally.sample.setdefault(key[1], key_text(src.repo, key))
                tally.missed.append({"key": key_text(src.repo, key), "name": name})
        extras = 0
        judged: set[Key] = set()
        for own, group, said in found:
            if any(k in failed for k in group) or own in judged:
                continue
            judged.add(own)  # module calls fold into one key: judged once
            extras += 1
            verdict = verdicts.get(key_text(src.repo, own))
            if verdict is None:
                tally.unjudged.append({"key": key_text(src.repo, own), "said": said[:200], "verdict": "?", "why": ""})
            elif str(verdict.get("verdict")).lower() == "true":
                tally.extras_true += 1
            else:
                tally.extras_false += 1
        tally.covered += covered
        tally.failures += len(failed) - wrong
        tally.wrong += wrong
        tally.cnsec_s += cn_s
        tally.checkov_s += ck_s
        print(f"{src.repo:52} {len(failed):>8} {covered:>7} {wrong:>5} {extras:>5} {cn_s:>8.2f} {ck_s:>7.1f}")
        errors = report.get("errors") or []
        if errors:
            print(f"{'':52} cnsec input errors: {len(errors)}, e.g. {str(errors[0])[:120]}")
    return tally


def cover(t: Tally) -> str:
    return f"{t.covered / t.failures:.3f}" if t.failures else "nan"


def write_todo(cloud: str, t: Tally, todo_dir: Path | None, show: int) -> None:
    lines = [f"{n:4} {cid:14} {t.names.get(cid, '')[:90]}  e.g. {t.sample[cid]}"
             for cid, n in t.uncovered.most_common()]
    print(f"{cloud}: {t.covered}/{t.failures} Checkov failures covered ({cover(t)}); {t.wrong} judged wrong "
          f"left out; cnsec-only {t.extras_true} true, {t.extras_false} false, {len(t.unjudged)} unjudged")
    print(f"  top uncovered Checkov ids ({len(t.uncovered)} ids, {sum(t.uncovered.values())} failures):")
    for line in lines[:show]:
        print(f"  {line}")
    for row in t.unjudged[:show]:
        print(f"  unjudged {row['key']}  ({row['said'][:100]})")
    if todo_dir is not None:
        todo_dir.mkdir(parents=True, exist_ok=True)
        header = (f"# uncovered Checkov Terraform failures on bench/cloud/{cloud}.yaml, most frequent first "
                  f"(count, id, name, one example key); {t.covered}/{t.failures} covered\n")
        (todo_dir / f"cloud-todo-{cloud}.txt").write_text(header + "".join(line + "\n" for line in lines))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirror", type=Path, help="folder of bare git mirrors (<owner>+<name>/repo)")
    ap.add_argument("--cloud", action="append", choices=CLOUDS, help="measure only this cloud (repeatable)")
    ap.add_argument("--cloud-dir", type=Path, default=REPO / "bench" / "cloud",
                    help="folder of <cloud>.yaml and review-<cloud>.yaml (default bench/cloud)")
    ap.add_argument("--checkov-cache", action="store_true",
                    help="reuse Checkov's output and time from an earlier run on the same commit and paths")
    ap.add_argument("--cached-only", action="store_true",
                    help="measure only repositories whose Checkov output is cached (a quick partial look)")
    ap.add_argument("--only", help="measure only the repositories whose owner/name contains this")
    ap.add_argument("--runs", type=int, default=3, help="cnsec runs per repository (the median is taken)")
    ap.add_argument("--todo-dir", type=Path, help="write cloud-todo-<cloud>.txt here (uncovered Checkov ids)")
    ap.add_argument("--unjudged-out", type=Path, help="write the unjudged cnsec-only findings here, as YAML rows")
    ap.add_argument("--misses-out", type=Path,
                    help="write every uncovered Checkov failure here, as YAML rows (for checkov_wrong judgements)")
    ap.add_argument("--show", type=int, default=25, help="how many uncovered ids and unjudged findings to print")
    args = ap.parse_args()

    # cnsec runs in each checkout: a relative PYTHONPATH ("src") would find another tree's cnsec there
    os.environ["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in
                                               os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)
    compile_sources()
    venv_dir = peer_venv("checkov", [CHECKOV])
    tallies: dict[str, Tally] = {}
    for cloud in args.cloud or CLOUDS:
        sources = load_sources(args.cloud_dir, cloud)
        if sources is None:
            print(f"\n== {cloud} == no {args.cloud_dir}/{cloud}.yaml: not measured")
            continue
        tallies[cloud] = measure_cloud(cloud, sources, args, venv_dir)
    print()
    unjudged: list[dict[str, str]] = []
    for cloud, t in tallies.items():
        write_todo(cloud, t, args.todo_dir, args.show)
        unjudged += t.unjudged
    if args.misses_out is not None:
        args.misses_out.write_text(yaml.safe_dump([m for t in tallies.values() for m in t.missed], sort_keys=False,
                                                  width=200))
    if args.unjudged_out is not None:
        args.unjudged_out.write_text(yaml.safe_dump(unjudged, sort_keys=False, width=200))
    total = Tally()
    for t in tallies.values():
        total.covered += t.covered
        total.failures += t.failures
        total.wrong += t.wrong
        total.cnsec_s += t.cnsec_s
        total.checkov_s += t.checkov_s
        total.cnsec_cpu += t.cnsec_cpu
        total.checkov_cpu += t.checkov_cpu
        total.extras_false += t.extras_false
    raw = f"{total.covered / (total.failures + total.wrong):.3f}" if total.failures + total.wrong else "nan"
    speed = total.checkov_s / total.cnsec_s if total.cnsec_s else float("nan")
    cpu_speed = total.checkov_cpu / total.cnsec_cpu if total.cnsec_cpu else float("nan")
    print(f"time: cnsec {total.cnsec_s:.1f}s (median of {args.runs} runs per repository), "
          f"checkov {total.checkov_s:.1f}s ({speed:.0f}x); CPU where both known: cnsec {total.cnsec_cpu:.1f}s, "
          f"checkov {total.checkov_cpu:.1f}s ({cpu_speed:.0f}x)")
    per = " ".join(f"cover_{c}={cover(tallies[c]) if c in tallies else 'nan'}" for c in CLOUDS)
    print(f"RESULT {per} cover_all={cover(total)} raw_cover_all={raw} vs_checkov={speed:.1f} "
          f"vs_checkov_cpu={cpu_speed:.1f} "
          f"tf_checks={terraform_checks()} extras_unjudged={len(unjudged)} extras_false={total.extras_false}")


if __name__ == "__main__":
    main()
