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

    def show_help(args: argparse.Namespace) -> int:
        db.print_help()
        return 2

    db.set_defaults(func=show_help)

    v = sub.add_parser(
        "vulns", help="known vulnerabilities in pinned dependencies (lockfiles, CycloneDX/SPDX JSON SBOMs)",
        description="Find the lockfiles and SBOMs under each PATH (or read the file given) and match every "
                    "pinned package against the local index (build it first: 'cnsec vulndb build DIR'). "
                    "Read: requirements*.txt, poetry.lock, Pipfile.lock, package-lock.json, yarn.lock, go.mod, "
                    "Cargo.lock, Gemfile.lock, composer.lock, *.cdx.json / bom.json, *.spdx.json.",
        epilog="exit codes: 0 nothing at/above --fail-on, 1 there is, 2 no index, or a lockfile or version "
               "could not be read (reported with file:line; the rest is still scanned).")
    v.add_argument("paths", nargs="+", metavar="PATH", help="folders, lockfiles or SBOMs")
    add_output_options(v)
    v.add_argument("--db", metavar="PATH", help="index file (default as for 'vulndb build')")
    v.add_argument("--max-db-age", metavar="DAYS", type=float, default=DEFAULT_MAX_AGE_DAYS,
                   help=f"warn when the index is older than this (default: {DEFAULT_MAX_AGE_DAYS:g} days)")
    v.set_defaults(func=run_vulns)


def _db_path(args: argparse.Namespace) -> Any:
    from pathlib import Path

    from cnsec.vulns.index import default_path

    return Path(args.db) if args.db else default_path()


def run_build(args: argparse.Namespace) -> int:
    from pathlib import Path

    from cnsec.report.safe import printable
    from cnsec.vulns.index import build

    result = build([Path(s) for s in args.sources], _db_path(args))
    for problem in result.errors:
        print(f"cnsec: {printable(problem)}", file=sys.stderr)
    stats = result.stats()
    from cnsec.report.console import note

    note(f"vulndb: {stats['records']} advisories, {stats['affected']} affected packages, "
          f"{stats['git_ranges_ignored']} GIT ranges ignored, {stats['duplicates']} duplicate ids skipped, "
          f"{stats['withdrawn']} withdrawn, {stats['unscored']} without a severity, "
         f"{stats['errors']} unreadable -> {printable(str(result.path))}")
    return 2 if result.errors else 0


def run_vulns(args: argparse.Namespace) -> int:
    from cnsec.report.output import emit
    from cnsec.vulns.match import scan

    report = scan(args.paths, _db_path(args), max_age_days=args.max_db_age)
    code = emit(report, args)
    return 2 if report.errors else code
