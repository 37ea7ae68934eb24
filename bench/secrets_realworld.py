"""False alarms of `cnsec data scan` on clean, popular public code bases and official-image Dockerfiles.

The labelled corpora (secrets_accuracy.py) measure recall on planted secrets; this measures what a
user sees on real code that holds none (or very few): every finding is judged, once, by a person, in
bench/data/secrets_realworld_review.tsv (repo, path, line, detector, verdict true/false, reason).
A finding with no verdict there counts as a false alarm and is listed, so the figure cannot improve
by forgetting to review.

Repositories (pinned commits) are read from the git mirrors the project's `fetch` tool makes
(/work/.mirror/<owner>+<name>/repo, or $CNSEC_MIRRORS), exported with `git archive`, and scanned by
the CLI as a user runs it (`cnsec data scan DIR -f json`, all defaults: .gitignore, tests rule).

Run:  .venv/bin/python bench/secrets_realworld.py [--show]
Last line: RESULT secrets_fp_per_mb=<false alarms per MB> mb=<MB scanned> findings=<n> true=<n>
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO as ROOT
from _common import cnsec_exe
from realworld import Repo, checkout

MIRRORS = Path(os.environ.get("CNSEC_MIRRORS", "/work/.mirror"))
REVIEW = ROOT / "bench" / "data" / "secrets_realworld_review.tsv"

#: (owner/name, commit): official images, a popular Python and Go project, a Helm chart repository.
REPOS = (
    ("docker-library/postgres", "6edb0a8c4def40c371514b34aef9037ec82d9110"),
    ("docker-library/python", "4f07059567fa61c80397126e8063dbbde011b794"),
    ("docker-library/redis", "e92049967d6baa9b4b3d6fd950553e6458e61f13"),
    ("psf/requests", "1f6589ec3a1ee910f9a65cc3ceac60b26677bc0e"),
    ("spf13/cobra", "adbc8813901bba65827259daa8e22ff94ec1f30e"),
    ("bitnami/charts", "5165628ae06697f8f68a670bef7739d93c4b7f44"),
)

Key = tuple[str, str, int, str]


def load_review() -> dict[Key, tuple[str, str]]:
    out: dict[Key, tuple[str, str]] = {}
    if not REVIEW.is_file():
        return out
    with REVIEW.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader((line for line in handle if not line.startswith("#")), delimiter="\t"):
            out[(row["repo"], row["path"], int(row["line"]), row["detector"])] = (row["verdict"], row["reason"])
    return out


def export(repo: str, commit: str, into: Path) -> Path | None:
    """The repository at ``commit`` under ``into``, through the Checkov bench's mirror checkout (which
    writes what the mirror holds and names what it lacks), or None (said on stderr) when absent."""
    name = repo.replace("/", "+")
    directory = checkout(Repo(name, repo, commit, ["."], ""), MIRRORS, into)
    if directory is None:
        print(f"{repo}: commit {commit} is not in {MIRRORS / name} (fetch github:{repo}): skipped", file=sys.stderr)
    return directory


def scan(directory: Path) -> tuple[list[dict[str, object]], int]:
    proc = subprocess.run([*cnsec_exe(), "data", "scan", str(directory), "-f", "json", "--fail-on", "critical"],
                          capture_output=True, text=True, check=False)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"cnsec failed on {directory}: {proc.stderr[-500:]}")
    report = json.loads(proc.stdout)
    findings = [f for f in report["findings"] if not f.get("suppressed")]
    return findings, int(report["summary"]["bytes_scanned"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--show", action="store_true", help="list every finding with its verdict")
    args = ap.parse_args()
    review = load_review()
    total_bytes = total = true = unreviewed = 0
    print(f"{'repository':<28}{'MB':>8}{'findings':>10}{'true':>6}{'false':>7}")
    with tempfile.TemporaryDirectory(prefix="cnsec-realworld-") as tmp:
        for repo, commit in REPOS:
            directory = export(repo, commit, Path(tmp))
            if directory is None:
                continue
            findings, scanned = scan(directory)
            good = 0
            for f in findings:
                source = f["source"]
                assert isinstance(source, dict)
                path = str(Path(str(source["file"])).relative_to(directory))
                key = (repo, path, int(source["line"] or 0), str(f["check_id"]))
                verdict, reason = review.get(key, ("unreviewed", ""))
                good += verdict == "true"
                unreviewed += verdict == "unreviewed"
                if args.show or verdict == "unreviewed":
                    print(f"  {verdict:<10} {repo}\t{path}\t{key[2]}\t{key[3]}\t{f['preview']}\t{reason}")
            total_bytes += scanned
            total += len(findings)
            true += good
            print(f"{repo:<28}{scanned / 1e6:>8.1f}{len(findings):>10}{good:>6}{len(findings) - good:>7}")
    mb = total_bytes / 1e6
    if unreviewed:
        print(f"{unreviewed} findings have no verdict in {REVIEW.relative_to(ROOT)}: counted as false alarms")
    fp = total - true
    print(f"RESULT secrets_fp_per_mb={fp / mb if mb else 0:.3f} mb={mb:.1f} findings={total} true={true}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
