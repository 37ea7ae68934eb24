"""``cnsec data scan``: find hard-coded credentials in a tree, the staged changes, or git history.

Imports nothing heavy at import time: the engine is built only when the command runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

EPILOG = """examples:
  cnsec data scan .                                   table of findings, secrets redacted
  cnsec data scan . -f sarif -o secrets.sarif --fail-on medium
  cnsec data scan --staged                            only what `git diff --cached` adds
  cnsec data scan --history --since v1.2.0            added lines in git history, with commit ids
  cnsec data scan . --baseline .cnsec-secrets.json    only new findings (--write-baseline creates it)

suppress one finding with a `cnsec:ignore <reason>` (or `pragma: allowlist secret`) comment on its
line; allowlist paths and values with reasons in .cnsec.yaml (scan.allowlist)."""


def register(sub: Any) -> None:
    from cnsec.report.options import add_output_options

    p: argparse.ArgumentParser = sub.add_parser(
        "scan", help="find hard-coded secrets (redacted, fingerprinted)",
        description="Scan files, staged changes or git history for credentials: over 100 detectors, "
                    "precision filters, inline and config allowlists, salted-hash baselines.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("path", nargs="?", default=".", help="file or directory to scan (default: .)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--staged", action="store_true", help="scan only lines added in the git index")
    mode.add_argument("--history", action="store_true", help="scan lines added by git commits")
    p.add_argument("--since", metavar="REV", help="with --history: only commits after REV")
    p.add_argument("--config", metavar="FILE",
                   help=".cnsec.yaml to use (default: the nearest from PATH up to the repository root)")
    p.add_argument("--exclude", metavar="GLOB", action="append", default=[],
                   help="gitignore-style pattern to skip (repeatable)")
    p.add_argument("--max-file-size", metavar="SIZE", help="skip larger files (default 10MB)")
    p.add_argument("--no-gitignore", action="store_true", help="scan files that .gitignore excludes")
    p.add_argument("--include-tests", action="store_true",
                   help="run the generic password/token detectors in test fixtures too")
    p.add_argument("-j", "--jobs", type=int, default=None, help="worker processes (default: all cores)")
    p.add_argument("--engine", choices=("auto", "hyperscan", "re2"), default="auto",
                   help="multi-pattern matcher (default: hyperscan if installed, else re2)")
    add_output_options(p, default_fail_on="high")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cnsec.config_file import locate
    from cnsec.data.scan import scanner, walker
    from cnsec.data.scan.engine import EngineOptions, hyperscan_available
    from cnsec.errors import UsageError
    from cnsec.model.finding import InputProblem
    from cnsec.model.source import Source
    from cnsec.report.output import emit

    if args.since and not args.history:
        raise UsageError("--since needs --history")
    if args.engine == "hyperscan" and not hyperscan_available():
        raise UsageError("--engine hyperscan: the hyperscan package is not installed "
                         "(pip install 'cnsec[hyperscan]')")
    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    root = Path(args.path)
    if not root.exists():
        raise UsageError("no such file or directory", Source(args.path))
    base_dir = root if root.is_dir() else root.parent
    config_path = locate([args.path], args.config)
    cfg = scanner.load_config(config_path)
    from cnsec.report.console import verbose

    verbose(f"configuration: {config_path or 'none (no .cnsec.yaml found)'}")
    if args.max_file_size:
        cfg.max_file_size = scanner.parse_size(args.max_file_size, Source("--max-file-size"))
    cfg.excludes = (*cfg.excludes, *args.exclude)
    if args.include_tests:
        cfg.include_tests = True
    options = EngineOptions(salt=cfg.salt or scanner.default_salt(root), allow=cfg.allow,
                            skip_generic_in_tests=not cfg.include_tests, disabled=cfg.disabled)
    backend = args.engine
    if backend == "auto":
        backend = "hyperscan" if hyperscan_available() else "re2"
    if args.staged or args.history:
        units = (walker.staged_units(base_dir) if args.staged
                 else walker.history_units(base_dir, args.since))
        result = scanner.scan_units(units, options, backend=backend)
        target = "staged changes" if args.staged else f"git history{f' since {args.since}' if args.since else ''}"
    else:
        w = walker.Walker(root, max_file_size=cfg.max_file_size, respect_gitignore=not args.no_gitignore,
                          excludes=cfg.excludes)
        files = list(w.files())
        result = scanner.scan_files(files, options, backend=backend, jobs=args.jobs,
                                    max_size=cfg.max_file_size)
        result.errors.extend(InputProblem(path, None, msg) for path, msg in w.problems)
        result.stats["skipped_ignored"] = w.stats.skipped_ignored
        result.stats["skipped_symlink"] = w.stats.skipped_symlink
        target = str(args.path)
    display_root = "." if args.staged or args.history or root.is_file() else str(args.path)
    report = scanner.build_report(result, target, backend, display_root)
    return emit(report, args)
