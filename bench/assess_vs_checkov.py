"""cnsec assess vs Checkov on the same inputs, in one run, plus the YAML parse floor and scaling.

    .venv/bin/python bench/assess_vs_checkov.py            # whole corpus + each folder + 1x/4x/16x
    .venv/bin/python bench/assess_vs_checkov.py --quick    # whole corpus only (Checkov takes minutes)

Checkov 3.3.30 is installed into bench/.venv-checkov on first use. Inputs: ../shared/corpora/assess.
Prints wall time, peak RSS and ratios; the last line is
``RESULT vs_checkov=<ratio> vs_floor=<ratio> cnsec_s=<seconds> checkov_s=<seconds>``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import cnsec_exe, compile_sources, measure, peer_venv, require_corpus

CHECKOV = "checkov==3.3.30"
FLOOR_CODE = r"""
import os, sys, yaml
n = 0
for dirpath, dirnames, files in os.walk(sys.argv[1]):
    dirnames[:] = [d for d in dirnames if d not in {".git", "node_modules", ".terraform"}]
    for name in files:
        if name.endswith((".yaml", ".yml", ".json")):
            with open(os.path.join(dirpath, name), "rb") as fh:
                data = fh.read()
            try:
                for _ in yaml.load_all(data, Loader=yaml.CSafeLoader):
                    n += 1
            except Exception:
                pass
print(n)
"""


def run_cnsec(path: Path) -> tuple[float, float, int]:
    m = measure([*cnsec_exe(), "assess", str(path), "-f", "json", "--fail-on", "none"])
    data = json.loads(m.stdout or b"{}")
    return m.seconds, m.peak_mb, len(data.get("findings", []))


def run_checkov(venv_dir: Path, path: Path) -> tuple[float, float, int, int]:
    m = measure([str(venv_dir / "bin" / "checkov"), "-d", str(path), "--framework",
                 "kubernetes,dockerfile,terraform", "-o", "json", "--quiet", "--compact",
                 "--skip-download", "--skip-results-upload"], env={"BC_SKIP_MAPPING": "TRUE"})
    failed = 0
    try:
        data = json.loads(m.stdout or b"[]")
        for block in data if isinstance(data, list) else [data]:
            failed += len(block.get("results", {}).get("failed_checks", []))
    except json.JSONDecodeError:
        failed = -1
    return m.seconds, m.peak_mb, failed, m.returncode


#: A valid manifest (an empty ``securityContext:`` in a CronJob) on which Checkov 3.3.30 crashes and
#: loses every result of the run (see ../shared/corpora/assess/SOURCES.md).
CHECKOV_CRASHERS = ("kubescape-regolibrary/rules/set-fsgroup-value/test/cronjob/input/cronjob1.yaml",)


def without_crashers(corpus: Path, into: Path) -> Path:
    """A copy of the corpus without the files Checkov crashes on, so its time can be measured at all."""
    target = into / corpus.name
    shutil.copytree(corpus, target)
    for rel in CHECKOV_CRASHERS:
        (target / rel).unlink(missing_ok=True)
    return target


def floor(path: Path) -> float:
    m = measure([sys.executable, "-c", FLOOR_CODE, str(path)])
    return m.seconds


def replicate(src: Path, times: int, into: Path) -> Path:
    for i in range(times):
        shutil.copytree(src, into / f"copy{i}", symlinks=False)
    return into


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="whole corpus only; no per-folder or scaling runs")
    ap.add_argument("--no-checkov", action="store_true", help="skip Checkov (cnsec and the floor only)")
    ap.add_argument("--repeat", type=int, default=5, help="runs of cnsec and of the floor; the best counts")
    args = ap.parse_args()
    corpus = require_corpus("assess")
    files = sum(1 for p in corpus.rglob("*") if p.is_file())
    print(f"corpus: {corpus} ({files} files)")
    venv_dir = None if args.no_checkov else peer_venv("checkov", [CHECKOV])

    # warm the page cache and imports once so neither tool pays for a cold disk
    compile_sources()
    floor(corpus)
    run_cnsec(corpus)

    # the best of a few runs each: the machine is shared, and noise only ever adds time
    cn_s, cn_mb, cn_n = min(run_cnsec(corpus) for _ in range(args.repeat))
    fl_s = min(floor(corpus) for _ in range(args.repeat))
    print(f"\nwhole corpus: cnsec {cn_s:.2f}s, {cn_mb:.0f} MB peak, {cn_n} findings")
    print(f"              YAML parse floor (PyYAML CSafeLoader) {fl_s:.2f}s -> cnsec/floor {cn_s / fl_s:.2f}x")
    ck_s = float("nan")
    if venv_dir is not None:
        ck_s, ck_mb, ck_n, ck_rc = run_checkov(venv_dir, corpus)
        print(f"              checkov {ck_s:.1f}s, {ck_mb:.0f} MB peak, {ck_n} failed checks (exit {ck_rc})")
        if ck_rc not in (0, 1):
            print("              checkov crashed and lost every result; measuring it again without "
                  f"{len(CHECKOV_CRASHERS)} file(s) it cannot read (cnsec reads them)")
            with tempfile.TemporaryDirectory(prefix="cnsec-ck-") as tmp:
                copy = without_crashers(corpus, Path(tmp))
                ck_s, ck_mb, ck_n, ck_rc = run_checkov(venv_dir, copy)
                c2_s, c2_mb, c2_n = min(run_cnsec(copy) for _ in range(args.repeat))
                f2_s = min(floor(copy) for _ in range(args.repeat))
            print(f"              checkov {ck_s:.1f}s, {ck_mb:.0f} MB peak, {ck_n} failed checks (exit {ck_rc}); "
                  f"cnsec on the same copy {c2_s:.2f}s, {c2_mb:.0f} MB, {c2_n} findings; floor {f2_s:.2f}s")
            cn_s, cn_mb, fl_s = c2_s, c2_mb, f2_s
        print(f"              checkov/cnsec: {ck_s / cn_s:.1f}x the time, {ck_mb / max(cn_mb, 1):.1f}x the memory")

    if not args.quick:
        print("\nper folder:")
        print(f"{'folder':28} {'cnsec s':>8} {'MB':>6} {'checkov s':>10} {'MB':>6} {'ratio':>7}")
        for folder in sorted(p for p in corpus.iterdir() if p.is_dir()):
            c_s, c_mb, _ = run_cnsec(folder)
            if venv_dir is not None:
                k_s, k_mb, _, rc = run_checkov(venv_dir, folder)
                note = "" if rc in (0, 1) else f"  (checkov exit {rc})"
                print(f"{folder.name:28} {c_s:8.2f} {c_mb:6.0f} {k_s:10.1f} {k_mb:6.0f} {k_s / c_s:6.1f}x{note}")
            else:
                print(f"{folder.name:28} {c_s:8.2f} {c_mb:6.0f}")
        print("\nscaling (cnsec on 1x, 4x, 16x copies of the corpus):")
        with tempfile.TemporaryDirectory(prefix="cnsec-scale-") as tmp:
            base = None
            for times in (1, 4, 16):
                target = Path(tmp) / f"x{times}"
                target.mkdir()
                replicate(corpus, times, target)
                t0 = time.perf_counter()
                s, mb, n = run_cnsec(target)
                per = s / times
                base = base or per
                print(f"  {times:>2}x: {s:7.2f}s ({per:.2f}s per copy, {per / base:.2f} of 1x), "
                      f"{mb:6.0f} MB peak, {n} findings  [{time.perf_counter() - t0:.1f}s]")
                shutil.rmtree(target)

    vs_checkov = ck_s / cn_s if venv_dir is not None else float("nan")
    print(f"RESULT vs_checkov={vs_checkov:.1f} vs_floor={cn_s / fl_s:.2f} cnsec_s={cn_s:.2f} "
          f"checkov_s={ck_s:.1f}")


if __name__ == "__main__":
    main()
