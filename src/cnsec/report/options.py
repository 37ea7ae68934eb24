"""The output options every findings command shares (kept import-light: the CLI builds them at start)."""

from __future__ import annotations

import argparse

FORMATS = ("table", "json", "sarif", "markdown", "junit")
FAIL_ON_CHOICES = ("critical", "high", "medium", "low", "info", "none")


def add_output_options(parser: argparse.ArgumentParser, *, default_fail_on: str = "high") -> None:
    parser.add_argument("-f", "--format", choices=FORMATS, default=None,
                        help="output format (default: from -o's extension (.sarif, .md, .xml), else table "
                             "on a terminal, json otherwise); junit is JUnit XML for CI test views")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write the report to FILE (atomically) instead of stdout")
    parser.add_argument("--fail-on", choices=FAIL_ON_CHOICES, default=default_fail_on,
                        help=f"exit 1 if an unsuppressed finding is at or above this severity "
                             f"(default: {default_fail_on}; 'none' never fails)")
    parser.add_argument("--baseline", metavar="FILE",
                        help="report only findings that are not in this baseline file")
    parser.add_argument("--write-baseline", metavar="FILE",
                        help="write the current findings as a baseline file")
