"""Time and peak memory against the size of ONE input file: is the cost linear in the input?

Red-team issue #13 found ``cnsec assess`` quadratic in one large file (1, 2, 4 MB of multi-document
YAML took 3.3, 9.6, 32.6 s) and ``cnsec data scan`` blowing up on one long line. Totals over a
corpus of small files hide both, so this bench grows one file and watches the cost per MB.

Generated inputs (deterministic seed, in a temp dir), each measured in a separate process (one
process per measurement: a peak RSS is only the peak of that run; measured with GNU time when
installed, else wait4's ru_maxrss):
  * ``assess`` on a multi-document YAML file of Deployments, Services, ConfigMaps and Secrets
    (what ``kubectl get -o yaml`` of a namespace or a rendered chart looks like) at 1, 4 and 16 MB;
  * ``assess`` on the same resources as one ``kind: List`` JSON document (``kubectl get -o json``);
  * ``data scan`` on a file that is one line of 1, 4 and 16 MB: random base64 (a minified bundle,
    an embedded blob) and one character repeated (the worst case for backtracking patterns).

Each run has a time limit (``--timeout``, default 120 s); a run that hits it counts as taking the
limit (so growth figures are lower bounds then) and is marked ``TIMEOUT``.

Last line:
  ``RESULT assess_growth=<g> scan_line_mb_per_s=<r> scan_peak_mb=<m>``
  * assess_growth = (time at 16 MB / time at 1 MB) / 16, the worse of the YAML and JSON inputs:
    1.0 means time grows linearly with the input, 4 means 4 times worse than linear (quadratic
    over this range would be ~16); start-up time (~0.3 s) pushes small files' times up, so a linear
    tool lands a little below 1;
  * scan_line_mb_per_s = MB per second of ``data scan`` on the 16 MB one-line files (the slower
    of the two);
  * scan_peak_mb = the highest peak RSS of those scans, in MB.
``--quick`` uses 1, 2 and 4 MB instead (growth then = (t4 / t1) / 4), for a check in seconds.

Run:  .venv/bin/python bench/size_bench.py [--quick] [--timeout 120] [--repeat 1] [--keep DIR]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIME = "/usr/bin/time"
MB = 1 << 20


def cnsec_cmd() -> list[str]:
    """The installed console script of the running interpreter's venv, else ``python -m cnsec``."""
    exe = Path(sys.executable).with_name("cnsec")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "cnsec"]


# ------------------------------------------------------------------------------------------ inputs
def _resources(rng: random.Random, n: int) -> list[dict[str, object]]:
    """Four kinds in turn, with varying names, images, ports and settings."""
    out: list[dict[str, object]] = []
    for i in range(n):
        name = f"svc-{i}-{rng.randrange(16**6):06x}"
        kind = ("Deployment", "Service", "ConfigMap", "Secret")[i % 4]
        meta = {"name": name, "namespace": f"team-{i % 17}",
                "labels": {"app": name, "tier": rng.choice(["web", "api", "db", "cache"])}}
        if kind == "Deployment":
            container = {
                "name": "main", "image": f"registry.example.com/{name}:{rng.randrange(1, 40)}.{rng.randrange(9)}",
                "ports": [{"containerPort": rng.choice([80, 443, 8080, 9090])}],
                "env": [{"name": f"VAR_{k}", "value": f"value-{rng.randrange(10**6)}"} for k in range(4)],
                "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}},
                "securityContext": {"privileged": i % 8 == 0, "runAsNonRoot": i % 3 != 0},
            }
            out.append({"apiVersion": "apps/v1", "kind": kind, "metadata": meta, "spec": {
                "replicas": rng.randrange(1, 5), "selector": {"matchLabels": {"app": name}},
                "template": {"metadata": {"labels": {"app": name}},
                             "spec": {"hostNetwork": i % 11 == 0, "containers": [container]}}}})
        elif kind == "Service":
            out.append({"apiVersion": "v1", "kind": kind, "metadata": meta, "spec": {
                "type": rng.choice(["ClusterIP", "NodePort", "LoadBalancer"]), "selector": {"app": name},
                "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]}})
        elif kind == "ConfigMap":
            out.append({"apiVersion": "v1", "kind": kind, "metadata": meta, "data": {
                f"key{k}": f"setting {rng.randrange(10**9)} for {name}" for k in range(6)}})
        else:
            out.append({"apiVersion": "v1", "kind": kind, "metadata": meta, "type": "Opaque", "data": {
                "token": base64.b64encode(rng.randbytes(24)).decode()}})
    return out


def _grow(target: int, render: Callable[[list[dict[str, object]]], str]) -> str:
    """Rendered resources of about ``target`` bytes (one sizing pass, then the real one)."""
    sample = render(_resources(random.Random(1), 200))
    n = max(1, round(200 * target / len(sample.encode())))
    return render(_resources(random.Random(1), n))


def yaml_docs(target: int) -> str:
    import yaml

    return _grow(target, lambda rs: yaml.safe_dump_all(rs, sort_keys=False))


def json_list(target: int) -> str:
    return _grow(target, lambda rs: json.dumps({"apiVersion": "v1", "kind": "List", "items": rs}, indent=2))


def one_line_base64(target: int) -> str:
    raw = random.Random(2).randbytes(target * 3 // 4)
    return base64.b64encode(raw).decode() + "\n"


def one_line_repeated(target: int) -> str:
    return "a" * target + "\n"


# ------------------------------------------------------------------------------------------ runs
def run(cmd: list[str], timeout: float) -> tuple[float, float, bool]:
    """(seconds, peak RSS in MB, timed out) of one command in its own process."""
    fd, rss_file = tempfile.mkstemp(prefix="cnsec-size-rss-")
    os.close(fd)
    full = [TIME, "-q", "-f", "%M", "-o", rss_file, *cmd] if os.path.exists(TIME) else cmd
    started = time.perf_counter()
    proc = subprocess.Popen(full, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    timed_out = False
    try:
        _, _, usage = os.wait4(proc.pid, 0) if timeout <= 0 else _wait(proc, timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        _, _, usage = os.wait4(proc.pid, 0)
        timed_out = True
    seconds = time.perf_counter() - started
    peak_kb = float(usage.ru_maxrss)
    try:
        lines = Path(rss_file).read_text().strip().splitlines()
        if lines and lines[-1].isdigit():
            peak_kb = float(lines[-1])
    finally:
        os.unlink(rss_file)
    return (timeout if timed_out else seconds), peak_kb / 1024, timed_out


def _wait(proc: subprocess.Popen[bytes], timeout: float) -> tuple[int, int, os.struct_rusage]:
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            return pid, status, usage
        if time.monotonic() > deadline:
            raise subprocess.TimeoutExpired(proc.args, timeout)
        time.sleep(0.02)


def best(cmd: list[str], timeout: float, repeat: int) -> tuple[float, float, bool]:
    """The median time of ``repeat`` runs (the machine is shared and noisy) and their highest peak."""
    runs = [run(cmd, timeout) for _ in range(repeat)]
    times = sorted(r[0] for r in runs)
    return times[len(times) // 2], max(r[1] for r in runs), any(r[2] for r in runs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="1, 2, 4 MB instead of 1, 4, 16 MB")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per run (default 120)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per measurement; the median is kept")
    ap.add_argument("--keep", metavar="DIR", help="write the inputs here and keep them")
    args = ap.parse_args()
    sizes = [1, 2, 4] if args.quick else [1, 4, 16]
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="cnsec-size-"))
    work.mkdir(parents=True, exist_ok=True)
    cnsec = cnsec_cmd()
    try:
        growth: dict[str, float] = {}
        limited = False
        for label, make, suffix in (("yaml", yaml_docs, ".yaml"), ("json-list", json_list, ".json")):
            times = []
            for mb in sizes:
                path = work / f"{label}-{mb}mb{suffix}"
                path.write_text(make(mb * MB))
                size = path.stat().st_size / MB
                secs, peak, out = best([*cnsec, "assess", str(path), "-f", "json", "-o", os.devnull,
                                        "--fail-on", "none"], args.timeout, args.repeat)
                times.append(secs)
                limited |= out
                print(f"assess {label:9} {size:6.2f} MB  {secs:7.2f} s  peak {peak:7.1f} MB"
                      f"{'  TIMEOUT' if out else ''}", flush=True)
            growth[label] = (times[-1] / times[0]) / (sizes[-1] / sizes[0])
            print(f"assess {label:9} growth {growth[label]:.2f} (1.0 = linear)", flush=True)
        rates = []
        peaks = []
        for label, make in (("base64", one_line_base64), ("repeated", one_line_repeated)):
            for mb in sizes:
                path = work / f"line-{label}-{mb}mb.txt"
                path.write_text(make(mb * MB))
                secs, peak, out = best([*cnsec, "data", "scan", str(path), "-f", "json", "-o", os.devnull,
                                        "--fail-on", "none", "-j", "1", "--max-file-size", "64MB"],
                                       args.timeout, args.repeat)
                print(f"scan   {label:9} {mb:6.2f} MB  {secs:7.2f} s  peak {peak:7.1f} MB"
                      f"{'  TIMEOUT' if out else ''}", flush=True)
                limited |= out
                if mb == sizes[-1]:
                    rates.append(mb / secs)
                    peaks.append(peak)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    if limited:
        print(f"note: some runs hit the {args.timeout:.0f} s limit: growth is then a lower bound, MB/s an upper one")
    print(f"RESULT assess_growth={max(growth.values()):.2f} scan_line_mb_per_s={min(rates):.2f} "
          f"scan_peak_mb={max(peaks):.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
