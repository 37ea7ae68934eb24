"""The command-line face of the live reader, shared by ``cnsec assess`` and ``cnsec iam`` (so neither
pillar reaches into the other for it): the ``--cluster`` options and one read of the cluster."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cnsec.model.finding import Finding

LIVE = "cluster://"


def add_cluster_options(p: argparse.ArgumentParser, *, compare: bool = True, namespace: bool = True) -> None:
    """``--cluster`` and its options; ``compare``: also ``-n/--namespace`` (read scope, unless the
    command defines ``-n`` itself: ``namespace=False``) and ``--compare``."""
    g = p.add_argument_group("live cluster (read-only; see docs/cluster.md)")
    g.add_argument("--cluster", action="store_true",
                   help="read the live cluster of the kubeconfig's current context (or in-cluster config)")
    g.add_argument("--context", metavar="NAME", help="kubeconfig context to read (default: the current one)")
    g.add_argument("--kubeconfig", metavar="FILE", help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    if compare and namespace:
        g.add_argument("-n", "--namespace", metavar="NS", help="with --cluster: only this namespace "
                                                                "(default: all namespaces)")
    if compare:
        g.add_argument("--compare", metavar="DIR", help="with --cluster: drift against these manifests "
                                                         "(live-only, manifest-only, changed security fields)")
    g.add_argument("--request-timeout", type=float, default=60.0, metavar="SECONDS",
                   help="with --cluster: give up on one API request after this long (default: 60)")


def read_live(args: argparse.Namespace, namespace: str | None = None) -> Any:
    """The cluster named by --context/--kubeconfig (``namespace``: only that one), read once; what
    could not be read is printed on stderr (and is in the report's errors)."""
    from cnsec.k8s.live.reader import connect, read_cluster
    from cnsec.report.safe import one_line

    api, context = connect(args.context, args.kubeconfig)
    try:
        read = read_cluster(api, context, namespace, timeout=args.request_timeout)
    finally:
        api.close()
    for problem in read.problems:
        print(f"cnsec: {one_line(problem)}", file=sys.stderr)
    return read


def unline(findings: list[Finding]) -> None:
    """A live object has no lines: its findings say where by field path (``location``) only."""
    from cnsec.model.source import Source

    for f in findings:
        if f.source.file.startswith(LIVE):
            f.source = Source(f.source.file, None)
