"""``cnsec assess`` and ``cnsec checks``."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(sub: Any) -> None:
    from cnsec.k8s.live.options import add_cluster_options
    from cnsec.report.options import add_output_options

    p = sub.add_parser(
        "assess", help="assess manifests, Dockerfiles and Terraform: assets, threats, findings, risks, plan",
        description="Inventory the assets in Kubernetes manifests (YAML/JSON, or a cluster dump on stdin "
                    "with '-'), Dockerfiles and Terraform, or in a live cluster (--cluster, read-only); "
                    "find vulnerabilities; score risk per asset and threat; write a prioritised "
                    "mitigation plan.",
        epilog="exit codes: 0 nothing unsuppressed at/above --fail-on, 1 there is, 2 usage or input "
               "error (only when nothing could be assessed and an input was unreadable or skipped; "
               "stdin and each file are read up to 20 MiB). Suppress with the annotation "
               "cnsec.io/ignore: 'CNSEC-K8S-001=reason', a comment '# cnsec:ignore=CNSEC-K8S-001 reason', "
               "or .cnsec.yaml.")
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or folders to assess ('-' for stdin)")
    add_output_options(p)
    add_cluster_options(p)
    p.add_argument("--config", metavar="FILE", help="configuration file (default: PATH/.cnsec.yaml)")
    p.add_argument("--checks", metavar="IDS", help="run only these checks (comma-separated, globs)")
    p.add_argument("--skip-checks", metavar="IDS", help="skip these checks (comma-separated, globs)")
    p.set_defaults(func=run_assess)

    c = sub.add_parser("checks", help="the check catalog",
                       description="List the assessment checks: id, title, severity, threats, equivalents.")
    csub = c.add_subparsers(dest="checks_command", metavar="COMMAND", parser_class=type(c))
    lst = csub.add_parser("list", help="list every check")
    lst.add_argument("-f", "--format", choices=("table", "json", "markdown"), default=None)
    lst.set_defaults(func=run_checks_list)
    c.set_defaults(func=run_checks_list, format=None)


def _ids(value: str | None) -> set[str]:
    return {x.strip() for x in value.split(",") if x.strip()} if value else set()


def run_assess(args: argparse.Namespace) -> int:
    from cnsec.assess.config import find_config
    from cnsec.assess.engine import assess, batch_gc
    from cnsec.errors import InputError, UsageError
    from cnsec.report.json_report import prerender_findings
    from cnsec.report.output import emit, output_format
    from cnsec.report.safe import one_line

    if args.cluster and args.paths:
        raise UsageError("give PATH or --cluster, not both (compare with --cluster --compare DIR)")
    if not args.cluster:
        for flag in ("context", "kubeconfig", "namespace", "compare"):
            if getattr(args, flag, None):
                raise UsageError(f"--{flag} needs --cluster")
        if not args.paths:
            raise UsageError("give files or folders to assess ('-' for stdin), or --cluster")
    else:
        return _run_cluster(args)
    config = find_config(args.paths, args.config)
    fmt = output_format(args)
    with batch_gc():  # one batch from reading to the written report: no collector pass in between
        # JSON: the findings are rendered on the other core while risks are scored; source snippets
        # are only shown by the Markdown report
        report = assess(args.paths, config, only=_ids(args.checks), skip=_ids(args.skip_checks),
                        on_findings=prerender_findings if fmt == "json" else None,
                        snippets=fmt == "markdown")
        if report.stats.get("files", 0) == 0 and report.errors:
            for problem in report.errors:
                print(f"cnsec: {one_line(problem)}", file=sys.stderr)
            raise InputError("nothing could be read")
        if report.stats.get("files", 0) == 0:  # the report says why nothing was assessed, in any case
            print("cnsec: no Kubernetes, Dockerfile or Terraform files found", file=sys.stderr)
        code = emit(report, args)
    from cnsec.cli import skip_teardown

    skip_teardown(report)  # the report is written: nothing left to do but free it
    nothing = report.stats.get("resources", 0) == 0
    return 2 if nothing and (report.errors or report.skipped) else code


def _run_cluster(args: argparse.Namespace) -> int:
    from cnsec.assess.cluster import assess_cluster
    from cnsec.assess.config import find_config
    from cnsec.assess.engine import batch_gc
    from cnsec.report.json_report import prerender_findings
    from cnsec.report.output import emit, output_format

    config = find_config([args.compare] if args.compare else ["."], args.config)
    fmt = output_format(args)
    with batch_gc():
        from cnsec.k8s.live.options import read_live

        read = read_live(args, args.namespace)
        report = assess_cluster(read, config, only=_ids(args.checks), skip=_ids(args.skip_checks),
                                on_findings=prerender_findings if fmt == "json" and not args.compare else None)
        if args.compare:
            from cnsec.assess.drift import add_drift

            add_drift(report, read, args.compare)
        code = emit(report, args)
    nothing = report.stats.get("resources", 0) == 0
    return 2 if nothing and report.errors else code


def run_checks_list(args: argparse.Namespace) -> int:
    import json

    from cnsec.assess.checks.base import registry

    checks = list(registry().values())
    fmt = args.format or ("table" if sys.stdout.isatty() else "json")
    if fmt == "json":
        print(json.dumps([c.info.to_dict() for c in checks], indent=2))
        return 0
    if fmt == "markdown":
        print("| id | title | severity | target | threats | checkov | kubescape |")
        print("|---|---|---|---|---|---|---|")
        for c in checks:
            eq = c.equivalents
            ck = ", ".join(eq.get("checkov", ())) or "-"
            ks = ", ".join(eq.get("kubescape", ())) or "-"
            threats = ", ".join(c.threats)
            print(f"| {c.id} | {c.title} | {c.severity.label} | {c.target} | {threats} | {ck} | {ks} |")
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(checks)} checks", title_justify="left")
    for col in ("id", "title", "severity", "threats", "equivalents"):
        table.add_column(col, overflow="fold")
    for c in checks:
        peers = "; ".join(f"{k}: {', '.join(v)}" for k, v in c.equivalents.items() if v)
        table.add_row(c.id, c.title, c.severity.label, ", ".join(c.threats), peers)
    Console().print(table)
    return 0
