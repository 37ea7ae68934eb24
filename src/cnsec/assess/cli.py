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
                    "with '-'), Helm charts and Kustomize overlays (rendered with helm template and "
                    "kubectl kustomize), Dockerfiles and Terraform (its kubernetes_* resources checked as the "
                    "Kubernetes objects they declare), or in a live cluster (--cluster, read-only); find "
                    "vulnerabilities; score risk per asset and threat; write a prioritised mitigation plan.",
        epilog="exit codes: 0 nothing unsuppressed at/above --fail-on, 1 there is, 2 usage or input "
               "error (only when nothing could be assessed and an input was unreadable or skipped; "
               "stdin and each file are read up to 20 MiB), or a Helm chart or Kustomize overlay that "
               "could not be rendered (whatever else was found). Suppress with the annotation "
               "cnsec.io/ignore: 'CNSEC-K8S-001=reason', a comment '# cnsec:ignore=CNSEC-K8S-001 reason', "
               "or .cnsec.yaml.")
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or folders to assess ('-' for stdin)")
    add_output_options(p)
    add_cluster_options(p, namespace=False)  # -n is defined below, for --cluster and charts
    p.add_argument("--config", metavar="FILE",
                   help="configuration file (default: the nearest .cnsec.yaml from PATH up to the repository root)")
    p.add_argument("--checks", metavar="IDS", help="run only these checks (comma-separated, globs)")
    p.add_argument("--skip-checks", metavar="IDS", help="skip these checks (comma-separated, globs)")
    p.add_argument("--exclude", "--skip-path", dest="exclude", action="append", default=[], metavar="GLOB",
                   help="leave out files/folders under PATH matching GLOB (repeatable; a name such as "
                        "'tests' or '*.tf' matches at any depth, 'a/b' the path from PATH); added to the "
                        "configuration's exclude list; how many files were left out is reported")
    # Helm charts and Kustomize overlays (render helper, #14; docs/charts.md)
    p.add_argument("--values", action="append", default=[], metavar="FILE",
                   help="Helm values file for the chart given as PATH (repeatable, later wins)")
    p.add_argument("--set", action="append", default=[], dest="set_values", metavar="KEY=VALUE",
                   help="Helm value for the chart given as PATH, as helm --set (repeatable)")
    p.add_argument("--release", metavar="NAME", help="Helm release name (default: release-name, as helm template)")
    p.add_argument("-n", "--namespace", metavar="NS",
                   help="with --cluster: only this namespace (default: all); with a Helm chart as PATH: the "
                        "namespace it is installed in")
    p.add_argument("--no-render", action="store_true",
                   help="read Helm charts and Kustomize overlays as plain files instead of rendering them "
                        "(helm template, kubectl kustomize)")
    # image vulnerabilities joined to the workloads that run them (issue 18; docs/vulns.md)
    p.add_argument("--images", metavar="DIR",
                   help="a folder of container images (docker save tarballs, OCI layouts): their known "
                        "vulnerabilities become findings on the image and on every workload that runs it, "
                        "scored with the workload's exposure and privileges; needs the vulnerability index")
    p.add_argument("--db", metavar="PATH", help="with --images: the vulnerability index (default: $CNSEC_VULNDB, "
                                                "else vulns.db in the data directory)")
    from cnsec.vulns import add_exploitation_options

    add_exploitation_options(p)
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


def _render_options(args: argparse.Namespace) -> Any:
    """The Helm options, checked: they need a chart among the PATHs (a chart found deeper in a
    folder renders with its own values), and rendering."""
    import os

    from cnsec.errors import UsageError
    from cnsec.k8s.render.helm import HelmOptions, is_chart
    from cnsec.model.source import Source

    opts = HelmOptions(values=tuple(args.values), set=tuple(args.set_values), release=args.release,
                       namespace=args.namespace)
    if args.no_render:
        if opts.given() or opts.namespace:
            raise UsageError("--values, --set, --release and --namespace render a Helm chart; "
                             "they cannot go with --no-render")
        return None
    if (opts.given() or opts.namespace) and not any(os.path.isdir(p) and is_chart(p) for p in args.paths):
        raise UsageError("--values, --set, --release and --namespace are for a Helm chart given as PATH "
                         "(a folder with Chart.yaml); none of the PATHs is one")
    for v in opts.values:
        if not os.path.isfile(v):
            raise UsageError("no such values file", Source(v))
    return opts


def run_assess(args: argparse.Namespace) -> int:
    from cnsec.assess.config import find_config
    from cnsec.assess.engine import assess, batch_gc
    from cnsec.errors import InputError, UsageError
    from cnsec.report.console import note, verbose
    from cnsec.report.json_report import prerender_findings
    from cnsec.report.output import emit, output_format
    from cnsec.report.safe import one_line

    if args.cluster and args.paths:
        raise UsageError("give PATH or --cluster, not both (compare with --cluster --compare DIR)")
    if not args.cluster:
        for flag in ("context", "kubeconfig", "compare"):  # -n also names a chart's namespace
            if getattr(args, flag, None):
                raise UsageError(f"--{flag} needs --cluster")
        if not args.paths:
            raise UsageError("give files or folders to assess ('-' for stdin), or --cluster")
    else:
        return _run_cluster(args)
    config = find_config(args.paths, args.config)
    config.exclude = (*config.exclude, *args.exclude)
    verbose(f"configuration: {config.path or 'none (no .cnsec.yaml found)'}")
    render = _render_options(args)
    fmt = output_format(args)
    join = _image_join(args)
    with batch_gc():  # one batch from reading to the written report: no collector pass in between
        # JSON: the findings are rendered on the other core while risks are scored; source snippets
        # are only shown by the Markdown report
        report = assess(args.paths, config, only=_ids(args.checks), skip=_ids(args.skip_checks),
                        on_findings=prerender_findings if fmt == "json" and join is None else None,
                        snippets=fmt == "markdown", render=render, extend=join)
        _add_image_stats(report, join)
        if report.stats.get("files", 0) == 0 and report.errors:
            for problem in report.errors:
                print(f"cnsec: {one_line(problem)}", file=sys.stderr)
            raise InputError("nothing could be read")
        if report.stats.get("files", 0) == 0:  # the report says why nothing was assessed, in any case
            note("no Kubernetes, Dockerfile or Terraform files found")
        code = emit(report, args)
    from cnsec.cli import skip_teardown

    skip_teardown(report)  # the report is written: nothing left to do but free it
    from cnsec.k8s.render.walk import RenderProblem

    if any(isinstance(e, RenderProblem) for e in report.errors):
        return 2  # a chart or overlay that was not rendered is never a pass, whatever else was found
    nothing = report.stats.get("resources", 0) == 0
    return 2 if nothing and (report.errors or report.skipped) else code


def _image_join(args: argparse.Namespace) -> Any:
    """The ``--images`` join, checked before anything is read: the folder exists and the index opens."""
    import os

    from cnsec.errors import UsageError

    if not args.images:
        if args.vex or args.kev or args.epss or args.db:
            raise UsageError("--db, --vex, --kev and --epss go with --images (or use 'cnsec vulns')")
        return None
    if not os.path.isdir(args.images):
        raise UsageError(f"--images {args.images}: not a folder (of docker save tarballs or OCI layouts)")
    from cnsec.vulns import ImageJoin

    return ImageJoin(args.images, args.db, vex=args.vex, kev=args.kev, epss=args.epss)


def _add_image_stats(report: Any, join: Any) -> None:
    if join is not None:
        report.stats["images"] = join.stats
        for rid, info in join.rules.items():
            report.rules.setdefault(rid, info)


def _run_cluster(args: argparse.Namespace) -> int:
    from cnsec.assess.cluster import assess_cluster
    from cnsec.assess.config import find_config
    from cnsec.assess.engine import batch_gc
    from cnsec.report.json_report import prerender_findings
    from cnsec.report.output import emit, output_format

    config = find_config([args.compare] if args.compare else ["."], args.config)
    fmt = output_format(args)
    join = _image_join(args)
    with batch_gc():
        from cnsec.k8s.live.options import read_live

        read = read_live(args, args.namespace)
        report = assess_cluster(read, config, only=_ids(args.checks), skip=_ids(args.skip_checks),
                                on_findings=prerender_findings if fmt == "json" and not args.compare
                                and join is None else None, extend=join)
        _add_image_stats(report, join)
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
    from rich.table import Table

    from cnsec.report.console import color, width
    from cnsec.report.table import make_console

    table = Table(title=f"{len(checks)} checks", title_justify="left")
    for col in ("id", "title", "severity", "threats", "equivalents"):
        table.add_column(col, overflow="fold")
    for c in checks:
        peers = "; ".join(f"{k}: {', '.join(v)}" for k, v in c.equivalents.items() if v)
        table.add_row(c.id, c.title, c.severity.label, ", ".join(c.threats), peers)
    make_console(color=color(), width=width()).print(table)
    return 0
