"""Accuracy of `cnsec data scan` beside detect-secrets on labelled secret corpora.

Corpora (../shared/corpora/secrets, see SOURCES.md there):
  * CredSweeper's samples with its expected output (tests/data_output.json): the primary, line-level
    labels. A finding counts on every line it covers (a PEM block covers BEGIN..END, as CredSweeper
    labels each line of it). Precision = labelled lines among reported lines; recall = reported lines
    among labelled lines.
  * detect-secrets' test data with its own baseline (test_data/baseline.file) as labels.
  * gitleaks' test data: counts only (its expected reports refer to repositories not shipped here).

detect-secrets runs on the same files in the same run, from its own venv (bench/.venv-detect-secrets),
installed here on first use. Run:  .venv/bin/python bench/secrets_accuracy.py [--no-peer] [--show-errors]
Also the line-level recall of what is reported, PEM blocks set aside: the engine's hits beside the
CLI's findings (before every occurrence was reported the CLI merged repeats of a secret in a file).
Last line: RESULT cnsec_f1=… cnsec_precision=… cnsec_recall=… cnsec_engine_line_recall=… cnsec_cli_line_recall=… …
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The corpora beside the repo, or where CNSEC_CORPORA points (a worktree elsewhere).
CORPUS = (Path(os.environ.get("CNSEC_CORPORA", ROOT / "../shared/corpora")) / "secrets").resolve()

sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from secrets_bench import ensure_detect_secrets  # noqa: E402


def cnsec_lines(directory: Path, files: list[str]) -> set[tuple[str, int]]:
    from cnsec.data.scan.engine import Engine, EngineOptions

    engine = Engine(options=EngineOptions(skip_generic_in_tests=False))
    out: set[tuple[str, int]] = set()
    for name in files:
        data = (directory / name).read_bytes()
        if b"\x00" in data[:8192]:
            continue
        for hit in engine.scan_bytes(data, name):
            for line in range(hit.line, hit.end_line + 1):
                out.add((name, line))
    return out


def cli_lines(directory: Path) -> set[tuple[str, int]]:
    """The lines `cnsec data scan` reports (one per finding, as a user reads them), run as a user runs
    it on the samples folder (--include-tests: the samples sit under tests/, as for the engine above)."""
    cnsec = Path(sys.executable).parent / "cnsec"
    proc = subprocess.run([str(cnsec), "data", "scan", str(directory), "-f", "json", "--fail-on", "none",
                           "--include-tests", "--no-gitignore"], capture_output=True, text=True, check=False)
    report = json.loads(proc.stdout)
    return {(str(Path(f["source"]["file"]).relative_to(directory)), int(f["source"]["line"]))
            for f in report["findings"]}


def pem_lines(directory: Path, files: list[str]) -> set[tuple[str, int]]:
    """Lines inside BEGIN..END blocks: CredSweeper labels each line of a key, a scanner reports the
    block once; set aside for the line-level recall of findings."""
    out: set[tuple[str, int]] = set()
    for name in files:
        inside = False
        for number, line in enumerate((directory / name).read_bytes().splitlines(), 1):
            if b"-----BEGIN" in line:
                inside = True
            if inside:
                out.add((name, number))
            if b"-----END" in line:
                inside = False
    return out


def cnsec_start_lines(directory: Path, files: list[str]) -> set[tuple[str, int]]:
    from cnsec.data.scan.engine import Engine, EngineOptions

    engine = Engine(options=EngineOptions(skip_generic_in_tests=False))
    return {(name, hit.line) for name in files if b"\x00" not in (directory / name).read_bytes()[:8192]
            for hit in engine.scan_bytes((directory / name).read_bytes(), name)}


def detect_secrets_lines(exe: Path, directory: Path, files: list[str]) -> set[tuple[str, int]]:
    proc = subprocess.run([str(exe), "scan", "--all-files", *files], cwd=directory, capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        print(proc.stderr[-2000:], file=sys.stderr)
        return set()
    data = json.loads(proc.stdout)
    return {(name, int(r["line_number"])) for name, results in data["results"].items() for r in results}


def prf(pred: set[tuple[str, int]], truth: set[tuple[str, int]]) -> tuple[float, float, float]:
    tp = len(pred & truth)
    p = tp / len(pred) if pred else 0.0
    r = tp / len(truth) if truth else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def credsweeper_labels() -> tuple[Path, list[str], set[tuple[str, int]]]:
    base = CORPUS / "credsweeper" / "tests"
    samples = base / "samples"
    files = sorted(p.name for p in samples.iterdir() if p.is_file())
    have = set(files)
    truth: set[tuple[str, int]] = set()
    for entry in json.loads((base / "data_output.json").read_text()):
        for ld in entry["line_data_list"]:
            name = ld["path"].split("samples/", 1)[1]
            if name in have:
                truth.add((name, int(ld["line_num"])))
    return samples, files, truth


def detect_secrets_labels() -> tuple[Path, list[str], set[tuple[str, int]]]:
    base = CORPUS / "detect-secrets" / "test_data"
    baseline = json.loads((base / "baseline.file").read_text())
    truth = {(name, int(r["line_number"])) for name, rs in baseline["results"].items() for r in rs}
    files = sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file() and p.name != "baseline.file")
    return base, files, truth


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-peer", action="store_true", help="skip detect-secrets")
    ap.add_argument("--show-errors", action="store_true", help="list cnsec's misses and false positives")
    args = ap.parse_args()
    if not CORPUS.is_dir():
        print(f"corpus not found at {CORPUS}", file=sys.stderr)
        print("RESULT skipped=corpus_missing")
        return 0
    exe = None if args.no_peer else ensure_detect_secrets()
    results: dict[str, float] = {}
    print(f"{'corpus':<26}{'tool':<16}{'precision':>10}{'recall':>8}{'f1':>7}{'reported':>10}{'labelled':>10}")
    for cname, loader in (("credsweeper-samples", credsweeper_labels), ("detect-secrets-testdata",
                                                                       detect_secrets_labels)):
        directory, files, truth = loader()
        ours = cnsec_lines(directory, files)
        p, r, f = prf(ours, truth)
        print(f"{cname:<26}{'cnsec':<16}{p:>10.3f}{r:>8.3f}{f:>7.3f}{len(ours):>10}{len(truth):>10}")
        if cname == "credsweeper-samples":
            results.update(cnsec_precision=p, cnsec_recall=r, cnsec_f1=f)
            # line-level recall of what is reported, PEM blocks set aside: the engine's hits (start
            # lines) beside the CLI's findings (one line each, after the report is built)
            pem = pem_lines(directory, files)
            labelled = truth - pem
            starts = {(n, line) for n, line in cnsec_start_lines(directory, files)} - pem
            cli = cli_lines(directory) - pem
            for tool, found in (("cnsec engine", starts), ("cnsec CLI", cli)):
                rr = len(found & labelled) / len(labelled)
                print(f"{'  lines, no PEM':<26}{tool:<16}{'':>10}{rr:>8.3f}{'':>7}{len(found):>10}{len(labelled):>10}")
            results.update(cnsec_engine_line_recall=len(starts & labelled) / len(labelled),
                           cnsec_cli_line_recall=len(cli & labelled) / len(labelled))
            if args.show_errors:
                for name, line in sorted(truth - ours):
                    print(f"  MISS {name}:{line}")
                for name, line in sorted(ours - truth):
                    print(f"  FP   {name}:{line}")
        if exe is not None:
            theirs = detect_secrets_lines(exe, directory, files)
            p2, r2, f2 = prf(theirs, truth)
            print(f"{cname:<26}{'detect-secrets':<16}{p2:>10.3f}{r2:>8.3f}{f2:>7.3f}{len(theirs):>10}{len(truth):>10}")
            if cname == "credsweeper-samples":
                results.update(detect_secrets_precision=p2, detect_secrets_recall=r2, detect_secrets_f1=f2)
    gl = CORPUS / "gitleaks" / "testdata" / "repos" / "nogit"
    if gl.is_dir():
        files = sorted(p.name for p in gl.iterdir() if p.is_file())
        print(f"{'gitleaks-nogit':<26}{'cnsec':<16}{'':>10}{'':>8}{'':>7}{len(cnsec_lines(gl, files)):>10}"
              f"{'-':>10}")
        if exe is not None:
            print(f"{'gitleaks-nogit':<26}{'detect-secrets':<16}{'':>10}{'':>8}{'':>7}"
                  f"{len(detect_secrets_lines(exe, gl, files)):>10}{'-':>10}")
    keys = ["cnsec_f1", "cnsec_precision", "cnsec_recall", "cnsec_engine_line_recall", "cnsec_cli_line_recall",
            "detect_secrets_f1", "detect_secrets_precision",
            "detect_secrets_recall"]
    print("RESULT " + " ".join(f"{k}={results[k]:.3f}" for k in keys if k in results))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
