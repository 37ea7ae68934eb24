"""Speed and memory of `cnsec vulndb build` and `cnsec vulns` (issue #18's targets).

Steps, each in a process of its own (peak RSS per step, by GNU time when installed):
  * build: the index from every OSV archive in ../shared/corpora/vulns/advisories/osv-*
    (upstream Go, crates.io and PyPI; converted RubyGems, Packagist, npm, Alpine, Debian; harvested GHSA);
  * match_4k: `cnsec vulns` on a generated project of 4,000 pinned components in six lockfiles (go.mod,
    requirements.txt, Gemfile.lock, Cargo.lock, package-lock.json, composer.lock), the packages drawn
    from the index itself so that every one has advisories to evaluate (a worst case for matching);
  * match_real: the same on real lockfiles of about 4,000 pins (osv-detector's e2e fixtures in the corpus:
    a package-lock.json, a yarn.lock, a Gemfile.lock, a poetry.lock and a go.mod), where most packages
    have no advisory, as in a real project;
  * rootfs: `cnsec vulns` on a root filesystem: the corpus's real Debian 12 dpkg database (710 installed
    packages) with its os-release set to Debian 11, because the corpus's Debian advisories end in March
    2023 (before bookworm): every package is then matched against real bullseye advisories;
  * host_rootfs: `cnsec vulns /` on this machine's own root filesystem, the operating system's folders
    only (every top-level folder but bin boot etc lib* opt sbin srv usr var is passed as --skip-dir:
    home, root, tmp, work areas and mounts are data, not the system): dpkg, Python, node_modules, jars
    and Go binaries as they are installed here, matched against the whole index.
Targets: build < 60 s, 4k match < 2 s, peak RSS < 300 MiB, index size reported. Median of --runs.
No peer runs here: osv-scanner (Go) would need building from source and its offline mode downloads
its database; pip-audit and the other registry-installable scanners query online services.
Run:  PYTHONPATH=src .venv/bin/python bench/vulns_bench.py [--runs 3]
Last line: RESULT build_s=… match_4k_s=… peak_rss_mb=… db_mb=… rootfs_s=… host_rootfs_s=…
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from _common import CORPORA, REPO, cnsec_exe, compile_sources, measure

LOCKFILES = {"Go": "go.mod", "PyPI": "requirements.txt", "RubyGems": "Gemfile.lock", "crates.io": "Cargo.lock",
             "npm": "package-lock.json", "Packagist": "composer.lock"}


def _readable(eco: str, version: str) -> bool:
    from cnsec.vulns.versions import VersionError, parse

    try:
        parse(eco, version)
    except VersionError:
        return False
    return True


def pick_components(db: Path, total: int, seed: int = 18) -> dict[str, list[tuple[str, str]]]:
    """``total`` (name, version) pairs spread over the lockfile ecosystems, versions taken from the
    advisories' own events and version lists (some inside a range, some at its fix)."""
    rng = random.Random(seed)
    conn = sqlite3.connect(db)
    pools: dict[str, list[tuple[str, str]]] = {}
    for eco in LOCKFILES:
        pool = []
        for name, ranges, versions in conn.execute("SELECT name, ranges, versions FROM affected WHERE ecosystem = ?",
                                                   (eco,)):
            candidates = json.loads(versions) + [v for r in json.loads(ranges) for ev in r["events"]
                                                 for v in ev.values() if v != "0"]
            readable = [v for v in candidates if _readable(eco, v)]
            if readable:
                pool.append((name, rng.choice(readable)))
        rng.shuffle(pool)
        pools[eco] = pool
    conn.close()
    chosen: dict[str, list[tuple[str, str]]] = {eco: [] for eco in LOCKFILES}
    while sum(map(len, chosen.values())) < total and any(pools.values()):
        for eco, pool in pools.items():
            if pool and sum(map(len, chosen.values())) < total:
                chosen[eco].append(pool.pop())
    return chosen


def write_project(where: Path, chosen: dict[str, list[tuple[str, str]]]) -> int:
    where.mkdir(parents=True, exist_ok=True)
    c = chosen
    (where / "go.mod").write_text("module bench\n\nrequire (\n" + "".join(
        f"\t{n} v{v.removeprefix('v')}\n" for n, v in c["Go"]) + ")\n")
    (where / "requirements.txt").write_text("".join(f"{n}=={v}\n" for n, v in c["PyPI"]))
    (where / "Gemfile.lock").write_text("GEM\n  remote: https://rubygems.org/\n  specs:\n" + "".join(
        f"    {n} ({v})\n" for n, v in c["RubyGems"]) + "\nPLATFORMS\n  ruby\n")
    (where / "Cargo.lock").write_text("".join(f'[[package]]\nname = "{n}"\nversion = "{v}"\n\n'
                                              for n, v in c["crates.io"]))
    (where / "package-lock.json").write_text(json.dumps({"lockfileVersion": 3, "packages": {
        f"node_modules/{n}": {"version": v} for n, v in c["npm"]}}, indent=2))
    (where / "composer.lock").write_text(json.dumps({"packages": [{"name": n, "version": v}
                                                                  for n, v in c["Packagist"]]}, indent=2))
    return sum(map(len, c.values()))


REAL_LOCKFILES = ("1-package-lock.json", "2-yarn.lock", "2-Gemfile.lock", "2-poetry.lock", "2-go.mod")


def real_project(corpus: Path, where: Path) -> None:
    """Real lockfiles, each in a folder of its own under its own file name."""
    import shutil

    e2e = corpus / "inputs/osv-detector/testdata/locks-e2e"
    for name in REAL_LOCKFILES:
        (where / name).mkdir(parents=True)
        shutil.copyfile(e2e / name, where / name / name.split("-", 1)[1])


#: the operating system's own top-level folders; every other one is left out of the host scan
OS_DIRS = frozenset({"bin", "boot", "etc", "lib", "lib32", "lib64", "libx32", "opt", "sbin", "srv", "usr", "var"})


def host_skips() -> list[str]:
    """--skip-dir for each top-level folder of / that is not the system's (proc, sys, dev: never walked)."""
    out = []
    for entry in sorted(Path("/").iterdir()):
        if entry.is_dir() and not entry.is_symlink() and entry.name not in OS_DIRS | {"proc", "sys", "dev"}:
            out += ["--skip-dir", str(entry)]
    return out


def scan(project: Path, db: Path, runs: int, env: dict[str, str], extra: tuple[str, ...] = (),
         ok: tuple[int, ...] = (0,)) -> tuple[list[Any], dict[str, Any]]:
    out = []
    for _ in range(runs):
        m = measure([*cnsec_exe(), "vulns", str(project), "--db", str(db), "-f", "json", "--fail-on", "none",
                     *extra], env=env)
        if m.returncode not in ok:
            raise SystemExit(f"scan of {project} failed with exit {m.returncode}")
        out.append(m)
    return out, json.loads(out[-1].stdout)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--components", type=int, default=4000)
    args = ap.parse_args()
    # the corpora sit beside the repository, or beside the folder of worktrees (/work/wt/NAME)
    advisories = next((c / "vulns/advisories" for c in (CORPORA, REPO.parent.parent / "shared/corpora")
                       if (c / "vulns/advisories").is_dir()), None)
    if advisories is None:
        print("corpus vulns/advisories is absent: nothing to measure", file=sys.stderr)
        print("RESULT skipped=true")
        return 0
    sources = [str(p) for p in sorted(advisories.glob("osv-*")) if p.is_dir()]
    compile_sources()
    env = {"PYTHONPATH": str(REPO / "src")}
    with tempfile.TemporaryDirectory(prefix="cnsec-vulns-bench-") as tmp:
        db = Path(tmp) / "vulns.db"
        builds = []
        for _ in range(args.runs):
            m = measure([*cnsec_exe(), "vulndb", "build", *sources, "--db", str(db)], env=env)
            if m.returncode != 0:
                print(f"build failed with exit {m.returncode}", file=sys.stderr)
                return 1
            builds.append(m)
        db_mb = db.stat().st_size / 2**20
        project = Path(tmp) / "project"
        count = write_project(project, pick_components(db, args.components))
        matches, report = scan(project, db, args.runs, env)
        real_project(advisories.parent, Path(tmp) / "real")
        reals, real_report = scan(Path(tmp) / "real", db, args.runs, env)
        rootfs = Path(tmp) / "rootfs"
        (rootfs / "var/lib/dpkg").mkdir(parents=True)
        (rootfs / "etc").mkdir()
        shutil.copyfile(advisories.parent / "rootfs-samples/debian-12/var/lib/dpkg/status",
                        rootfs / "var/lib/dpkg/status")
        (rootfs / "etc/os-release").write_text('ID=debian\nVERSION_ID="11"\n')
        roots, root_report = scan(rootfs, db, args.runs, env)
        # exit 2 is allowed here: an unreadable jar or binary of the host is reported, not fatal
        hosts, host_report = scan(Path("/"), db, args.runs, env, tuple(host_skips()), ok=(0, 2))
    build_s = statistics.median(m.seconds for m in builds)
    match_s = statistics.median(m.seconds for m in matches)
    build_rss = max(m.peak_mb for m in builds)
    real_s = statistics.median(m.seconds for m in reals)
    match_rss = max(m.peak_mb for m in matches + reals)
    print(f"build: {build_s:.2f} s median of {[round(m.seconds, 2) for m in builds]}, peak RSS {build_rss:.0f} MiB, "
          f"index {db_mb:.1f} MiB")
    print(f"match: {count} components, {report['summary']['packages']} read, {len(report['findings'])} findings, "
          f"{match_s:.2f} s median of {[round(m.seconds, 2) for m in matches]}, peak RSS {match_rss:.0f} MiB")
    print(f"match_real: {real_report['summary']['packages']} real pins, {len(real_report['findings'])} findings, "
          f"{real_s:.2f} s median of {[round(m.seconds, 2) for m in reals]}")
    root_s = statistics.median(m.seconds for m in roots)
    match_rss = max(match_rss, *(m.peak_mb for m in roots))
    print(f"rootfs: {root_report['summary']['packages']} dpkg packages, {len(root_report['findings'])} findings, "
          f"{root_s:.2f} s median of {[round(m.seconds, 2) for m in roots]}")
    host_s = statistics.median(m.seconds for m in hosts)
    match_rss = max(match_rss, *(m.peak_mb for m in hosts))
    kinds: dict[str, int] = {}
    for f in host_report["findings"]:
        kinds[f["ecosystem"].split(":")[0]] = kinds.get(f["ecosystem"].split(":")[0], 0) + 1
    print(f"host_rootfs: / ({len(host_skips()) // 2} non-system top-level folders skipped): "
          f"{host_report['summary']['lockfiles']} files read, {host_report['summary']['packages']} packages, "
          f"{len(host_report['findings'])} findings {kinds}, {len(host_report['errors'])} unreadable, "
          f"{host_s:.2f} s median of {[round(m.seconds, 2) for m in hosts]}, "
          f"peak RSS {max(m.peak_mb for m in hosts):.0f} MiB")
    print(f"RESULT build_s={build_s:.2f} match_4k_s={match_s:.2f} match_real_s={real_s:.2f} "
          f"peak_rss_mb={max(build_rss, match_rss):.0f} db_mb={db_mb:.1f} rootfs_s={root_s:.2f} "
          f"host_rootfs_s={host_s:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
