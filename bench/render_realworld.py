"""Rendering against what projects commit as rendered: a chart or overlay assessed through cnsec's
renderers must give the findings that the manifests the project generated from it give.

    .venv/bin/python bench/render_realworld.py --mirror /work/.mirror

Cases (real repositories, each at the commit ``bench/realworld/repos.yaml`` measures):

- **ingress-nginx**: ``hack/generate-deploy-scripts.sh`` renders ``charts/ingress-nginx`` with each
  provider's ``hack/manifest-templates/provider/<p>/values.yaml`` (release and namespace
  ``ingress-nginx``) into ``deploy/static/provider/<p>/deploy.yaml``, then adds a Namespace and drops
  ``replicas`` with Kustomize. cnsec: ``assess charts/ingress-nginx --values … --release ingress-nginx
  -n ingress-nginx`` against ``assess deploy/static/provider/<p>/deploy.yaml``.
- **argo-cd**: ``hack/update-manifests.sh`` builds ``manifests/cluster-install`` (and the HA one) with
  Kustomize into ``manifests/install.yaml`` (and ``ha/install.yaml``), setting the image tag of the
  release. cnsec: ``assess manifests/cluster-install`` against ``assess manifests/install.yaml``.

Findings are compared by (check, asset, location). Where a rendered finding points is checked too:
into a template or base file (not ``Chart.yaml``/``kustomization.yaml``), at a line that exists.

Last line: ``RESULT same=<findings in both>/<findings in either> pointed=<share of rendered findings
pointing into a template or base line> render_s=<s> plain_s=<s>``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, cnsec_exe, measure
from realworld import Repo, checkout

INGRESS = Repo("ingress-nginx-charts", "kubernetes/ingress-nginx", "dbb11b92ddb77bee9c35e462479129354c84f939",
               ["charts/ingress-nginx", "hack/manifest-templates", "deploy/static/provider"], "chart")
ARGO = Repo("argo-cd-overlays", "argoproj/argo-cd", "37ee0097cf851bc2dd7665fc081bbce61a7e836e", ["manifests"],
            "overlay")
PROVIDERS = ["aws", "aws/nlb-with-tls-termination", "baremetal", "cloud", "do", "exoscale", "kind", "oracle", "scw"]

Key = tuple[str, str, str]


def assess(root: Path, *args: str) -> tuple[dict[str, Any], float]:
    m = measure([*cnsec_exe(), "assess", *args, "-f", "json", "--fail-on", "none"], cwd=root)
    return json.loads(m.stdout or b"{}"), m.seconds


def keys(report: dict[str, Any]) -> set[Key]:
    return {(f["check_id"], f["asset_id"], f["location"]) for f in report.get("findings", [])}


def pointed(root: Path, report: dict[str, Any]) -> tuple[int, int]:
    """(findings pointing at an existing line of a template or base file, findings)."""
    good = 0
    findings = report.get("findings", [])
    for f in findings:
        file, line = f["source"]["file"], f["source"]["line"]
        path = root / file
        if Path(file).name in ("Chart.yaml", "kustomization.yaml") or not path.is_file() or not line:
            continue
        good += 0 < line <= len(path.read_text().splitlines())
    return good, len(findings)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirror", type=Path, help="folder of bare git mirrors (<owner>+<name>/repo)")
    ap.add_argument("--repos", type=Path, default=REPO / "bench" / "out" / "render-realworld",
                    help="folder of checkouts (made from --mirror when given)")
    args = ap.parse_args()
    cases: list[tuple[str, Path, list[str], list[str]]] = []
    ingress = checkout(INGRESS, args.mirror, args.repos)
    if ingress is not None:
        for p in PROVIDERS:
            cases.append((f"ingress-nginx {p}", ingress,
                          ["charts/ingress-nginx", "--values", f"hack/manifest-templates/provider/{p}/values.yaml",
                           "--release", "ingress-nginx", "-n", "ingress-nginx"],
                          [f"deploy/static/provider/{p}/deploy.yaml"]))
    argo = checkout(ARGO, args.mirror, args.repos)
    if argo is not None:
        cases.append(("argo-cd cluster-install", argo, ["manifests/cluster-install"], ["manifests/install.yaml"]))
        cases.append(("argo-cd ha/cluster-install", argo, ["manifests/ha/cluster-install"],
                      ["manifests/ha/install.yaml"]))
    if not cases:
        sys.exit("no repository found: give --mirror (or --repos with checkouts)")
    same = either = good = total = 0
    render_s = plain_s = 0.0
    print(f"{'case':32} {'rendered':>8} {'committed':>9} {'same':>5} {'pointed':>8} {'render s':>9} {'plain s':>8}")
    for name, root, rendered_args, plain_args in cases:
        rendered, rs = assess(root, *rendered_args)
        plain, ps = assess(root, *plain_args, "--no-render")
        a, b = keys(rendered), keys(plain)
        ok, n = pointed(root, rendered)
        same += len(a & b)
        either += len(a | b)
        good += ok
        total += n
        render_s += rs
        plain_s += ps
        print(f"{name:32} {len(a):8} {len(b):9} {len(a & b):5} {ok:4}/{n:<4} {rs:9.2f} {ps:8.2f}")
        for e in rendered.get("errors", []):
            print(f"{'':32} error: {e['file']}: {e['message'][:160]}")
        for k in sorted(a - b)[:5]:
            print(f"{'':32} rendered only: {' '.join(k)}")
        for k in sorted(b - a)[:5]:
            print(f"{'':32} committed only: {' '.join(k)}")
    print(f"RESULT same={same}/{either} pointed={good / max(total, 1):.3f} render_s={render_s:.1f} "
          f"plain_s={plain_s:.1f}")


if __name__ == "__main__":
    main()
