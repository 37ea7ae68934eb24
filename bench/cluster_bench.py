"""Read and assess a live cluster of 5,000 workloads, end to end (issue #14).

A recorded cluster is served on loopback by the test API server (tests/k8s/live/apiserver.py,
imported by path: the same server the reader's tests use), in a process of its own so that the
measured process is cnsec alone. The cluster, generated with a fixed seed:

  * 5,000 workloads in 50 namespaces: 3,500 Deployments (a quarter with 2 replicas), 500
    StatefulSets, 500 CronJobs, 250 DaemonSets (2 nodes), 250 Jobs, with the ReplicaSets, Jobs and
    pods their controllers create (pod specs taken in turn from the corpus manifests of the tests,
    microservices-demo and Kubernetes Goat, or from the tests' shop fixture when the corpus is absent);
  * 2,000 Services, 2,000 RBAC bindings (1,800 RoleBindings, 200 ClusterRoleBindings), 400 Roles,
    50 ClusterRoles, 300 ServiceAccounts, 50 ConfigMaps, 25 NetworkPolicies, 50 Namespaces;
  * about 20,000 objects in all (printed).

Each run is ``cnsec assess --cluster -f json -o FILE`` in a fresh process, as a user runs it: its wall
time (start-up included) is ``cluster_s``; reading and assessing are split by the report's own
``summary.cluster.read_seconds`` and ``summary.seconds`` (the rest is start-up, connecting and the JSON
report); peak RSS is the larger of that process's ``ru_maxrss`` (wait4) and the peak sum of the RSS of
the process and its forked workers (sampled every 50 ms; the per-object checks of a large cluster
run on one worker per CPU; pages shared after the fork count twice, so this overstates). The median
of ``--runs`` runs is reported. For scale, one run also measures two lower bounds:

  * ``transfer_s``: fetching the same list pages with bare urllib3, no parsing (the network part
    of reading, which no reader can beat);
  * ``files_s``: ``cnsec assess`` of the objects the reader kept, written as one YAML file (the same
    assessment from files: what assessing costs without the cluster).

Targets: cluster_s < 30 s, peak RSS < 1 GiB.

Last line: ``RESULT cluster_s=<median read+assess> objects=<served> peak_rss_mb=<max> read_s=<median>``

Run:  .venv/bin/python bench/cluster_bench.py [--runs 3] [--workloads 5000]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import multiprocessing as mp
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SERVER = ROOT / "tests" / "k8s" / "live" / "apiserver.py"
CORPUS = ROOT.parent / "shared" / "corpora" / "assess"
SHOP = ROOT / "tests" / "k8s" / "live" / "data" / "shop.yaml"


def _server_module() -> Any:
    spec = importlib.util.spec_from_file_location("cnsec_bench_apiserver", SERVER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _templates() -> list[dict[str, Any]]:
    """Pod templates (metadata + spec) from real manifests."""
    from cnsec.assess.inventory import load_inventory
    from cnsec.k8s.workload import pod_spec_path

    paths = [SHOP]
    if CORPUS.is_dir():
        demo = CORPUS / "microservices-demo" / "release"
        paths = [demo / "kubernetes-manifests.yaml",
                 *sorted((CORPUS / "kubernetes-goat" / "scenarios").glob("*/*.yaml")), SHOP]
    out = []
    for res in load_inventory([str(p) for p in paths], workers=1).k8s:
        path = pod_spec_path(res)
        spec = res.get(*path) if path else None
        if isinstance(spec, dict):
            out.append(json.loads(json.dumps({"spec": spec}, default=str)))
    return out


def build(server: Any, workloads: int, seed: int = 7) -> Any:
    rng = random.Random(seed)
    cluster = server.RecordedCluster()
    templates = _templates()
    namespaces = [f"team-{i:02d}" for i in range(50)]
    for i, ns in enumerate(namespaces):
        level = ("restricted", "baseline", "privileged")[i % 3]
        cluster.add({"apiVersion": "v1", "kind": "Namespace",
                     "metadata": {"name": ns, "labels": {"pod-security.kubernetes.io/enforce": level}}})
    for i in range(workloads):
        ns = namespaces[i % len(namespaces)]
        name = f"app-{i:05d}"
        labels = {"app": name, "tier": rng.choice(("web", "api", "worker", "data"))}
        template = {"metadata": {"labels": labels}, **json.loads(json.dumps(templates[i % len(templates)]))}
        meta = {"name": name, "namespace": ns, "labels": labels}
        slot = i % 10
        if slot < 7:
            doc = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
                   "spec": {"replicas": 2 if i % 4 == 0 else 1, "selector": {"matchLabels": labels},
                            "template": template}}
        elif slot == 7:
            doc = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta,
                   "spec": {"replicas": 1, "serviceName": name, "selector": {"matchLabels": labels},
                            "template": template}}
        elif slot == 8:
            template["spec"]["restartPolicy"] = "OnFailure"
            doc = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta,
                   "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": template}}}}
        elif i % 20 == 9:
            doc = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": meta,
                   "spec": {"selector": {"matchLabels": labels}, "template": template}}
        else:
            template["spec"]["restartPolicy"] = "Never"
            doc = {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": {"template": template}}
        cluster.add_children(cluster.add(doc))
        if i < 2000:
            cluster.add({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
                         "spec": {"type": "LoadBalancer" if i % 50 == 0 else "ClusterIP", "selector": labels,
                                  "ports": [{"port": 80, "targetPort": 8080}]}})
    verbs = (["get", "list"], ["get", "list", "watch"], ["*"], ["create", "delete"], ["get"])
    resources = (["pods"], ["secrets"], ["configmaps"], ["deployments"], ["pods/exec"], ["*"])
    for i in range(50):
        cluster.add({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                     "metadata": {"name": f"platform-{i:02d}"},
                     "rules": [{"apiGroups": ["", "apps"], "resources": rng.choice(resources),
                                "verbs": rng.choice(verbs)}]})
    for i in range(400):
        cluster.add({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                     "metadata": {"name": f"role-{i:03d}", "namespace": namespaces[i % 50]},
                     "rules": [{"apiGroups": [""], "resources": rng.choice(resources), "verbs": rng.choice(verbs)}]})
    for i in range(300):
        cluster.add({"apiVersion": "v1", "kind": "ServiceAccount",
                     "metadata": {"name": f"sa-{i:03d}", "namespace": namespaces[i % 50]}})
    for i in range(2000):
        ns = namespaces[i % 50]
        subject = ({"kind": "ServiceAccount", "name": f"sa-{i % 300:03d}", "namespace": namespaces[(i % 300) % 50]}
                   if i % 3 else {"kind": "User", "name": f"dev{i}@example.com",
                                  "apiGroup": "rbac.authorization.k8s.io"})
        if i < 200:
            cluster.add({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                         "metadata": {"name": f"crb-{i:03d}"}, "subjects": [subject],
                         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                     "name": f"platform-{i % 50:02d}"}})
        else:
            role = ({"kind": "Role", "name": f"role-{(i % 8) * 50 + i % 50:03d}"} if i % 2 else
                    {"kind": "ClusterRole", "name": f"platform-{i % 50:02d}"})
            cluster.add({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                         "metadata": {"name": f"rb-{i:04d}", "namespace": ns}, "subjects": [subject],
                         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", **role}})
    for i in range(50):
        cluster.add({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace":
                                                                            namespaces[i]},
                     "data": {"LOG_LEVEL": "info"}})
    for i in range(25):
        cluster.add({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                     "metadata": {"name": "default-deny", "namespace": namespaces[i * 2]},
                     "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}})
    return cluster


def _serve(workloads: int, kubeconfig: str, ready: Any, stop: Any) -> None:
    server = _server_module()
    cluster = build(server, workloads)
    with server.ApiServer(cluster) as api:
        api.kubeconfig(Path(kubeconfig), context="bench")
        ready.put(cluster.count())
        stop.wait()


def _cnsec(args: list[str]) -> tuple[float, float, int, float]:
    """Run ``cnsec ARGS`` in a fresh process: (wall seconds, peak RSS in MB, exit code, CPU seconds of
    the process and its workers), from wait4."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    import threading

    import psutil

    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "cnsec", *args], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tree_peak = 0
    done = threading.Event()

    def sample() -> None:  # the process and its forked workers together, every 50 ms
        nonlocal tree_peak
        try:
            top = psutil.Process(proc.pid)
            while not done.is_set():
                total = sum(p.memory_info().rss for p in [top, *top.children(recursive=True)])
                tree_peak = max(tree_peak, total)
                time.sleep(0.05)
        except psutil.Error:
            return

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    done.set()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, max(usage.ru_maxrss / 1024, tree_peak / 2**20), proc.returncode, usage.ru_utime + usage.ru_stime


def _run(kubeconfig: str, out: str) -> dict[str, Any]:
    """One ``cnsec assess --cluster -f json -o FILE``, as a user runs it; the phases from its summary."""
    wall, peak, code, cpu = _cnsec(["assess", "--cluster", "--kubeconfig", kubeconfig, "-f", "json", "-o", out,
                               "--fail-on", "none"])
    summary = json.loads(Path(out).read_text())["summary"]
    cluster = summary["cluster"]
    return {"total_s": wall, "cpu_s": cpu, "read_s": cluster["read_seconds"], "assess_s": summary["seconds"],
            "other_s": wall - cluster["read_seconds"] - summary["seconds"], "peak_rss_mb": peak, "exit": code,
            "kept": cluster["objects"], "received": cluster["objects_received"], "requests": cluster["requests"],
            "findings": summary["findings"] + summary["suppressed"], "errors": summary["errors"]}


def _dump(kubeconfig: str, path: str) -> None:
    """The objects the reader keeps, as one multi-document YAML file (for the files comparison)."""
    import yaml

    from cnsec.k8s.live.reader import connect, read_cluster

    api, context = connect(kubeconfig=kubeconfig)
    read = read_cluster(api, context)
    api.close()
    with open(path, "w", encoding="utf-8") as fh:
        yaml.safe_dump_all([r.doc for r in read.resources], fh, sort_keys=False)


def _transfer(kubeconfig: str) -> float:
    """Every list page the reader asks for, fetched with bare urllib3 (no parsing, one at a time)."""
    import urllib3

    cfg = json.loads(Path(kubeconfig).read_text())
    base = cfg["clusters"][0]["cluster"]["server"]
    headers = {"Authorization": f"Bearer {cfg['users'][0]['user']['token']}"}
    http = urllib3.PoolManager()
    paths = ["/api/v1/pods", "/api/v1/services", "/api/v1/namespaces", "/api/v1/serviceaccounts",
             "/api/v1/configmaps", "/apis/apps/v1/deployments", "/apis/apps/v1/statefulsets",
             "/apis/apps/v1/daemonsets", "/apis/apps/v1/replicasets", "/apis/batch/v1/jobs",
             "/apis/batch/v1/cronjobs", "/apis/networking.k8s.io/v1/networkpolicies",
             "/apis/rbac.authorization.k8s.io/v1/roles", "/apis/rbac.authorization.k8s.io/v1/rolebindings",
             "/apis/rbac.authorization.k8s.io/v1/clusterroles",
             "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"]
    started = time.perf_counter()
    for path in paths:
        token = ""
        while True:
            url = f"{base}{path}?limit=500" + (f"&continue={token}" if token else "")
            body = http.request("GET", url, headers=headers).data
            meta = json.loads(body).get("metadata") or {}  # only to follow the pages
            token = meta.get("continue") or ""
            if not token:
                break
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workloads", type=int, default=5000)
    opts = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the server process on kill, too
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = str(Path(tmp) / "kubeconfig")
        ctx = mp.get_context("fork")
        ready, stop = ctx.Queue(), ctx.Event()
        proc = ctx.Process(target=_serve, args=(opts.workloads, kubeconfig, ready, stop), daemon=True)
        started = time.perf_counter()
        proc.start()
        objects = ready.get(timeout=600)
        print(f"recorded cluster: {objects} objects, {opts.workloads} workloads (built and served in "
              f"{time.perf_counter() - started:.1f} s)")
        try:
            dump = str(Path(tmp) / "cluster.yaml")
            runs = []
            for n in range(opts.runs):
                r = _run(kubeconfig, str(Path(tmp) / "live.json"))
                runs.append(r)
                print(f"run {n + 1}: read {r['read_s']:.2f} s + assess {r['assess_s']:.2f} s + start-up, JSON "
                      f"and the rest {r['other_s']:.2f} s = {r['total_s']:.2f} s (exit {r['exit']}); "
                      f"{r['received']} objects received, {r['kept']} kept, {r['requests']} requests, "
                      f"{r['findings']} findings, {r['errors']} errors, CPU {r['cpu_s']:.1f} s, "
                      f"peak RSS {r['peak_rss_mb']:.0f} MB")
            transfer = _transfer(kubeconfig)
            _dump(kubeconfig, dump)
            files_s, files_peak, files_code, files_cpu = _cnsec(["assess", dump, "-f", "json", "-o",
                                                      str(Path(tmp) / "files.json"), "--fail-on", "none"])
        finally:
            stop.set()
            proc.join(timeout=10)
    med = {k: statistics.median(r[k] for r in runs) for k in ("read_s", "assess_s", "other_s", "total_s", "cpu_s")}
    peak = max(r["peak_rss_mb"] for r in runs)
    share = med["read_s"] / med["total_s"] if med["total_s"] else 0
    print(f"median of {len(runs)}: read {med['read_s']:.2f} s ({share:.0%}), assess {med['assess_s']:.2f} s, "
          f"start-up, JSON and the rest {med['other_s']:.2f} s, total {med['total_s']:.2f} s "
          f"(CPU {med['cpu_s']:.1f} s); peak RSS {peak:.0f} MB")
    print(f"lower bounds, same run: bare transfer of the list pages {transfer:.2f} s; `cnsec assess` of the kept "
          f"objects as one YAML file {files_s:.2f} s (CPU {files_cpu:.1f} s), peak RSS {files_peak:.0f} MB "
          f"(exit {files_code})")
    print(f"targets: cluster_s < 30 s: {'met' if med['total_s'] < 30 else 'MISSED'}; "
          f"peak < 1024 MB: {'met' if peak < 1024 else 'MISSED'}")
    load = os.getloadavg()[0]
    print(f"machine load average (1 min) at the end: {load:.1f} on {os.cpu_count()} CPUs: wall times are "
          f"{'inflated by other work' if load > (os.cpu_count() or 1) else 'representative'}; CPU time is not")
    print(f"RESULT cluster_s={med['total_s']:.2f} objects={objects} peak_rss_mb={peak:.0f} read_s={med['read_s']:.2f} "
          f"cpu_s={med['cpu_s']:.1f}")


if __name__ == "__main__":
    main()
