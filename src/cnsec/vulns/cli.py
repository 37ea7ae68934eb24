"""``cnsec vulndb build`` (the local OSV index) and ``cnsec vulns PATH`` (lockfiles against it)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

DEFAULT_MAX_AGE_DAYS = 7.0


def register(sub: Any) -> None:
    from cnsec.report.options import add_output_options

    db = sub.add_parser("vulndb", help="the local vulnerability index (OSV records)",
                        description="Build the local vulnerability index that 'cnsec vulns' matches against.")
    dsub = db.add_subparsers(dest="vulndb_command", metavar="COMMAND", parser_class=type(db))
    b = dsub.add_parser(
        "build", help="build the index from OSV all.zip archives and OSV JSON (offline)",
        description="Build the index from OSV-format records: per-ecosystem all.zip archives (as "
                    "osv-vulnerabilities.storage.googleapis.com publishes them) and folders of OSV JSON, "
                    "searched recursively. The old index stays in place until the new one is complete.",
        epilog="exit codes: 0 built, 2 an archive or record could not be read (reported with its file; "
               "the rest is still built) or nothing could be read (the old index is kept).")
    b.add_argument("sources", nargs="+", metavar="DIR", help="folders, all.zip archives or OSV .json files")
    b.add_argument("--db", metavar="PATH", help="index file (default: $CNSEC_VULNDB, else vulns.db in the "
                                                "data directory, $XDG_DATA_HOME/cnsec)")
    b.set_defaults(func=run_build)

    u = dsub.add_parser(
        "update", help="download OSV's per-ecosystem archives (cached, conditional) and rebuild the index",
        description="Fetch <URL>/<Ecosystem>/all.zip for each ecosystem into the cache beside the index "
                    "(If-None-Match: an unchanged archive is not downloaded again; 429/5xx retried with "
                    "backoff and Retry-After; size capped, MD5 (x-goog-hash) and every zip member's CRC "
                    "checked before a copy replaces the cached one), then rebuild the index from the cache. "
                    "Offline or air-gapped: 'cnsec vulndb build DIR' with archives you brought.",
        epilog="exit codes: 0 updated, 2 an archive could not be fetched (its cached copy, if any, was used "
               "and the index still rebuilt) or nothing at all is available.")
    u.add_argument("--ecosystem", action="append", metavar="NAME",
                   help="an OSV ecosystem (repeatable; default: PyPI npm Go crates.io RubyGems Packagist Maven "
                        "NuGet Debian Ubuntu Alpine)")
    u.add_argument("--url", metavar="BASE", help="where the archives are (default: OSV's public bucket, "
                                                  "or $CNSEC_OSV_URL, e.g. an internal mirror)")
    u.add_argument("--db", metavar="PATH", help="index file (default as for 'vulndb build')")
    u.set_defaults(func=run_update)

    def show_help(args: argparse.Namespace) -> int:
        db.print_help()
        return 2

    db.set_defaults(func=show_help)

    v = sub.add_parser(
        "vulns", help="known vulnerabilities in dependencies, OS packages and images",
        description="Find the lockfiles and SBOMs under each PATH (or read the file given) and match every "
                    "pinned package against the local index (build it first: 'cnsec vulndb build DIR'). "
                    "Read: requirements*.txt, poetry.lock, Pipfile.lock, uv.lock, package-lock.json, yarn.lock, "
                    "pnpm-lock.yaml, go.mod (and go.sum before Go 1.17), Cargo.lock, Gemfile.lock, composer.lock, "
                    "gradle.lockfile, pom.xml (declared versions), packages.lock.json (NuGet), *.cdx.json / "
                    "bom.json, *.spdx.json (a JSON SBOM named otherwise when given as PATH); OS packages of "
                    "a root filesystem (var/lib/dpkg/status, lib/apk/db/installed, the sqlite rpmdb, release "
                    "from os-release) and what is installed in it (Python site-packages, node_modules/*/package.json, "
                    "jars/wars/ears, Go build info in executables); container images (docker save tarballs, OCI "
                    "layouts), layers applied in memory. A folder is a root filesystem when it has etc/os-release "
                    "or usr/lib/os-release; a jar or Go binary named as PATH is read too.",
        epilog="exit codes: 0 nothing at/above --fail-on, 1 there is, 2 no index, or a lockfile or version "
               "could not be read (reported with file:line; the rest is still scanned). An entry that names no "
               "version to match (a pom.xml dependency whose version comes from a parent POM, an SBOM entry "
               "without a purl) is reported as skipped in every output format, not an error.")
    v.add_argument("paths", nargs="+", metavar="PATH",
                   help="folders, lockfiles, SBOMs, root filesystems or images (docker save .tar, OCI layout)")
    add_output_options(v)
    v.add_argument("--db", metavar="PATH", help="index file (default as for 'vulndb build')")
    v.add_argument("--sbom-out", metavar="FILE",
                   help="also write what was read, and the vulnerabilities found, as CycloneDX 1.6 JSON")
    v.add_argument("--skip-dir", action="append", default=[], metavar="DIR",
                   help="a folder not walked (repeatable), e.g. 'cnsec vulns / --skip-dir /home'")
    v.add_argument("--max-db-age", metavar="DAYS", type=float, default=DEFAULT_MAX_AGE_DAYS,
                   help=f"warn when the index is older than this (default: {DEFAULT_MAX_AGE_DAYS:g} days)")
    from cnsec.vulns.options import add_exploitation_options

    add_exploitation_options(v)
    v.set_defaults(func=run_vulns)


def db_path(args: argparse.Namespace) -> Any:
    from pathlib import Path

    from cnsec.vulns.index import default_path

    return Path(args.db) if args.db else default_path()


def apply_exploitation(report: Any, args: argparse.Namespace) -> None:
    """VEX statements, then KEV and EPSS, onto the report's findings; the counts go to its summary."""
    from cnsec.vulns import kev, vex

    statements = vex.load_all(args.vex, report.errors, report.skipped)
    if args.vex:
        _name_images(report.findings, args.paths)
        report.stats["vex"] = vex.apply(report.findings, statements)
    signals = kev.load(args.kev, args.epss, report.findings, report.errors)
    if signals is not None:
        report.stats["exploitation"] = {**signals.stats(), "known_exploited": kev.annotate(report.findings, signals)}


def _name_images(findings: list[Any], paths: list[str]) -> None:
    """The repository tags of the images scanned, on their findings (``image_refs``), so that a VEX
    statement about an image (``pkg:oci/…``) applies to that image's packages only."""
    from pathlib import Path

    from cnsec.vulns.image import is_image
    from cnsec.vulns.risk import image_refs

    refs = {p: image_refs(Path(p))[0] for p in paths if is_image(Path(p))}
    for f in findings:
        image = next((p for p in refs if f.source.file.startswith(f"{p}:/")), None)
        if image is not None:
            f.attrs["image_refs"] = refs[image]


def run_build(args: argparse.Namespace) -> int:
    from pathlib import Path

    from cnsec.report.safe import printable
    from cnsec.vulns.index import build

    result = build([Path(s) for s in args.sources], db_path(args))
    for problem in result.errors:
        print(f"cnsec: {printable(problem)}", file=sys.stderr)
    stats = result.stats()
    from cnsec.report.console import note

    note(f"vulndb: {stats['records']} advisories, {stats['affected']} affected packages, "
          f"{stats['git_ranges_ignored']} GIT ranges ignored, {stats['duplicates']} duplicate ids skipped, "
          f"{stats['withdrawn']} withdrawn, {stats['unscored']} without a severity, "
         f"{stats['errors']} unreadable -> {printable(str(result.path))}")
    return 2 if result.errors else 0


def run_update(args: argparse.Namespace) -> int:
    import os

    from cnsec.errors import UsageError
    from cnsec.report.safe import printable
    from cnsec.vulns.download import DEFAULT_BASE, DEFAULT_ECOSYSTEMS, update

    db = db_path(args)
    try:
        result = update(db, args.ecosystem or DEFAULT_ECOSYSTEMS, args.url or os.environ.get("CNSEC_OSV_URL")
                        or DEFAULT_BASE)
    except ValueError as exc:  # a URL that is not http(s)
        raise UsageError(str(exc)) from None
    for eco, why in result.failed.items():
        kept = " (the cached copy is used)" if any(a.parent.name == eco for a in result.archives) else ""
        print(f"cnsec: {printable(eco)}: not updated: {printable(why)}{kept}", file=sys.stderr)
    print(f"vulndb update: {len(result.fetched)} downloaded, {len(result.unchanged)} unchanged, "
          f"{len(result.failed)} failed", file=sys.stderr)
    if not result.archives:
        print("cnsec: no archive is available: nothing to build", file=sys.stderr)
        return 2
    args.sources = [str(a) for a in result.archives]
    code = run_build(args)
    return 2 if result.failed else code


def run_vulns(args: argparse.Namespace) -> int:
    from cnsec.report.output import emit
    from cnsec.vulns.match import scan

    packages: list[Any] = []
    report = scan(args.paths, db_path(args), max_age_days=args.max_db_age, packages_out=packages,
                  skip_dirs=args.skip_dir)
    apply_exploitation(report, args)
    if args.sbom_out:
        from cnsec.fsutil import atomic_write_text
        from cnsec.vulns.match import purl
        from cnsec.vulns.sbom import to_cyclonedx

        atomic_write_text(args.sbom_out, to_cyclonedx(packages, report.findings, purl))
        print(f"wrote {args.sbom_out}: CycloneDX 1.6, {len(packages)} packages", file=sys.stderr)
    code = emit(report, args)
    return 2 if report.errors else code
