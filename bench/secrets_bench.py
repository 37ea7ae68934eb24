"""Speed of `cnsec data scan` beside detect-secrets on a generated tree with planted secrets.

Generates (into a temp dir, deterministic seed) a ~200 MB tree of realistic source and config files
(Python, JavaScript, Go, YAML manifests, JSON, Terraform, Dockerfiles, .env, Markdown) in which about
5% of lines mention keys, tokens or passwords without being secrets (environment lookups, template
references, placeholders, hashes, UUIDs), and plants real-format secrets of many kinds at known lines.

Then, in one run:
  * cnsec on one core (``-j 1``), the whole tree: MB/s and how many planted secrets it found;
  * cnsec on all cores, and with the pure RE2 engine on one core (for information);
  * detect-secrets on one core (``-c 1``) on a slice of the tree (default 8 MB: it runs at well
    under 1 MB/s, so the full tree would take an hour), MB/s from that slice.
Both tools are timed as a user runs them (process start to report written).

Run:  .venv/bin/python bench/secrets_bench.py [--size-mb 200] [--peer-mb 8] [--keep DIR]
Last line: RESULT cnsec_mbps=<MB/s> vs_detect_secrets=<ratio> planted_found=<n>/<m>
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import resource
import shutil
import string
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: the repo's venv, else the one running this script (a worktree shares its venv)
CNSEC = ROOT / ".venv" / "bin" / "cnsec" if (ROOT / ".venv").is_dir() else Path(sys.executable).parent / "cnsec"

ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
WORDS = ('user', 'order', 'item', 'cart', 'price', 'total', 'account', 'session', 'cache', 'request',
         'response', 'client', 'server', 'config', 'handler', 'service', 'queue', 'event', 'message',
         'payload', 'status', 'result', 'value', 'name', 'index', 'count', 'limit', 'offset', 'timeout',
         'retry', 'backoff', 'metric', 'label', 'region', 'zone', 'bucket', 'table', 'column', 'record',
         'batch', 'stream', 'worker', 'tenant', 'project', 'invoice', 'customer', 'product', 'shipment',
         'address', 'payment', 'refund', 'report', 'export')


def rnd(rng: random.Random, n: int, alphabet: str = ALNUM) -> str:
    return "".join(rng.choices(alphabet, k=n))


def ident(rng: random.Random) -> str:
    return "_".join(rng.choices(WORDS, k=rng.randint(1, 3)))


#: Share of generated lines that mention a key, token or password without being a secret.
KEYWORD_LINE_RATE = 0.05


def _pick(rng: random.Random, plain: list[str], keyworded: list[str]) -> str:
    return rng.choice(keyworded if rng.random() < KEYWORD_LINE_RATE else plain)


# ---- benign line pools -------------------------------------------------------------------------------

def _py(rng: random.Random) -> str:
    a, b = ident(rng), ident(rng)
    return _pick(rng, [
        f"    {a} = {b}.get('{rng.choice(WORDS)}', {rng.randint(0, 999)})",
        f"def {a}(self, {b}, limit={rng.randint(1, 100)}):",
        f"    return [{a} for {a} in {b} if {a}.{rng.choice(WORDS)} > {rng.randint(0, 50)}]",
        f"    logger.info('processing {rng.choice(WORDS)} %s of %s', {a}, {b})",
        f"class {a.title().replace('_', '')}({b.title().replace('_', '')}):",
        f"    # {' '.join(rng.choices(WORDS, k=8))}",
        f"    if not {a}:\n        raise ValueError('missing {rng.choice(WORDS)}')",
        f"import {rng.choice(WORDS)}.{rng.choice(WORDS)}",
        f"    {a}: dict[str, int] = {{}}",
    ], [  # keyword-bearing, not secrets
        f"    api_key = os.environ['{a.upper()}_API_KEY']",
        "    token = request.headers.get('Authorization', '').removeprefix('Bearer ')",
        f"    password = getpass.getpass('{rng.choice(WORDS)} password: ')",
        f"    cache_key = f'{{{a}}}:{{{b}}}'",
        "    primary_key = models.AutoField(primary_key=True)",
        f"    secret_name = '{a.replace('_', '-')}-credentials'",
    ])


def _js(rng: random.Random) -> str:
    a, b = ident(rng), ident(rng)
    return _pick(rng, [
        f"  const {a} = await {b}.fetch('/api/{rng.choice(WORDS)}/' + id);",
        f"export function {a}({b}) {{ return {b}.map((x) => x.{rng.choice(WORDS)}); }}",
        f"  if ({a}.length > {rng.randint(1, 99)}) {{ {b}.push({a}); }}",
        f"  // {' '.join(rng.choices(WORDS, k=7))}",
    ], [
        f"  const token = process.env.{a.upper()}_TOKEN;",
        f"  headers: {{ Authorization: `Bearer ${{{a}}}` }},",
        f"  keys.forEach((key) => {b}[key] = {a}[key]);",
        f"  password: '{{{{ {a} }}}}',",
    ])


def _go(rng: random.Random) -> str:
    a, b = ident(rng).replace("_", ""), ident(rng).replace("_", "")
    return _pick(rng, [
        f"\t{a}, err := {b}.Get(ctx, \"{rng.choice(WORDS)}\")",
        "\tif err != nil {\n\t\treturn nil, err\n\t}",
        f"func ({b} *{a.title()}) {rng.choice(WORDS).title()}(ctx context.Context) error {{",
    ], [
        f"\ttoken := os.Getenv(\"{a.upper()}_TOKEN\")",
        f"\tkey := fmt.Sprintf(\"%s/%s\", {a}, {b})",
    ])


def _yaml(rng: random.Random) -> str:
    a = ident(rng).replace("_", "-")
    return _pick(rng, [
        f"  {rng.choice(WORDS)}: {rng.choice(WORDS)}-{rng.randint(1, 99)}",
        f"    - name: {a.upper().replace('-', '_')}",
        f"      value: \"{rng.choice(WORDS)}\"",
        f"  labels:\n    app.kubernetes.io/name: {a}",
        f"  image: registry.example.com/{a}:{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}",
    ], [
        "          valueFrom:\n            secretKeyRef:\n"
        "              name: db-credentials\n              key: password",
        f"  password: ${{{a.upper().replace('-', '_')}_PASSWORD}}",
        f"  checksum/config: {rnd(rng, 64, HEX)}",
        f"  request-id: {rnd(rng, 8, HEX)}-{rnd(rng, 4, HEX)}-4{rnd(rng, 3, HEX)}-a{rnd(rng, 3, HEX)}"
        f"-{rnd(rng, 12, HEX)}",
    ])


def _json(rng: random.Random) -> str:
    return _pick(rng, [
        f'  "{rng.choice(WORDS)}": "{rng.choice(WORDS)} {rng.choice(WORDS)}",',
        f'  "{rng.choice(WORDS)}_id": {rng.randint(1, 10**6)},',
    ], [
        f'  "key": "{rng.choice(WORDS)}",',
        f'  "token_url": "https://auth.example.com/oauth/{rng.choice(WORDS)}",',
        f'  "integrity": "sha512-{rnd(rng, 86, ALNUM + "+/")}==",',
    ])


def _md(rng: random.Random) -> str:
    return _pick(rng, [
        " ".join(rng.choices(WORDS, k=rng.randint(6, 16))).capitalize() + ".",
        f"## {rng.choice(WORDS).title()} {rng.choice(WORDS)}",
    ], [
        f"- set `{ident(rng).upper()}` to your {rng.choice(WORDS)} password before running",
        "The API key is read from the environment; never commit it.",
    ])


KINDS = {  # extension -> (line generator, weight)
    ".py": (_py, 30), ".js": (_js, 15), ".go": (_go, 10), ".yaml": (_yaml, 20), ".json": (_json, 10),
    ".md": (_md, 10), ".tf": (_json, 3), ".env": (_yaml, 2),
}


# ---- planted secrets ---------------------------------------------------------------------------------

def _github(rng: random.Random) -> str:
    body = rnd(rng, 30)
    n = zlib.crc32(body.encode())
    check = ""
    while n:
        n, r = divmod(n, 62)
        check = B62[r] + check
    return "ghp_" + body + check.rjust(6, "0")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def planted(rng: random.Random) -> list[str]:
    """One secret, as the lines to insert (the first line is where it is reported)."""
    pw = rnd(rng, 6) + rng.choice("!#%&*+") + rnd(rng, 6, string.digits + "ABCDEFGH")
    kind = rng.randrange(14)
    if kind == 0:
        return [f'AWS_ACCESS_KEY_ID = "AKIA{rnd(rng, 16, string.ascii_uppercase + "234567")}"']
    if kind == 1:
        return [f"GITHUB_TOKEN={_github(rng)}"]
    if kind == 2:
        return [f"slack_bot_token: xoxb-{rnd(rng, 11, string.digits)}-{rnd(rng, 13, string.digits)}-{rnd(rng, 24)}"]
    if kind == 3:
        return [f"  stripe_key = 'sk_live_{rnd(rng, 32)}'"]
    if kind == 4:
        return [f'DB_PASSWORD = "{pw}"']
    if kind == 5:
        body = [rnd(rng, 64, ALNUM + "+/") for _ in range(8)]
        return ["-----BEGIN RSA PRIVATE KEY-----", *body, "-----END RSA PRIVATE KEY-----"]
    if kind == 6:
        head = _b64url(b'{"alg":"HS256","typ":"JWT"}')
        payload = _b64url(json.dumps({"sub": rnd(rng, 8), "iat": rng.randint(10**9, 2 * 10**9)}).encode())
        return [f'  "session": "{head}.{payload}.{rnd(rng, 43, ALNUM + "-_")}",']
    if kind == 7:
        return [f"DATABASE_URL=postgresql://app:{rnd(rng, 10)}9x@db.internal:5432/app"]
    if kind == 8:
        return [f'  google_api_key = "AIza{rnd(rng, 35, ALNUM + "-_")}"']
    if kind == 9:
        return [f"SENDGRID_API_KEY=SG.{rnd(rng, 22)}.{rnd(rng, 43)}"]
    if kind == 10:
        return [f"//registry.npmjs.org/:_authToken=npm_{rnd(rng, 36)}"]
    if kind == 11:
        return [f"  client_secret: \"{rnd(rng, 24)}\""]
    if kind == 12:
        return [f"HF_TOKEN=hf_{rnd(rng, 34, string.ascii_letters)}"]
    return [f"api_token = \"{rnd(rng, 32, string.hexdigits.lower()[:16])}\""]


def generate(root: Path, size_mb: int, seed: int = 1) -> tuple[list[tuple[str, int]], int]:
    rng = random.Random(seed)
    pools = {ext: [gen(rng) for _ in range(4000)] for ext, (gen, _) in KINDS.items()}
    exts = list(KINDS)
    weights = [KINDS[e][1] for e in exts]
    target = size_mb * 1_000_000
    written = 0
    planted_at: list[tuple[str, int]] = []
    i = 0
    while written < target:
        ext = rng.choices(exts, weights)[0]
        top = rng.choice(["src", "services", "deploy", "config", "docs", "pkg", "web", "infra"])
        rel = f"{top}/{rng.choice(WORDS)}/{rng.choice(WORDS)}_{i}{ext}"
        lines = rng.choices(pools[ext], k=rng.randint(200, 4000))
        if i % 3 == 0:  # a third of the files carry one planted secret
            at = rng.randrange(len(lines))
            head = "\n".join(lines[:at])
            lineno = (head.count("\n") + 2) if at else 1
            lines = [*lines[:at], *planted(rng), *lines[at:]]
            planted_at.append((rel, lineno))
        text = "\n".join(lines) + "\n"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written += len(text.encode())
        i += 1
    return planted_at, written


def ensure_detect_secrets() -> Path | None:
    """The peer, in its own venv (bench/_common.peer_venv); None when it cannot be installed."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import peer_venv

    try:
        exe = peer_venv("detect-secrets", ["detect-secrets==1.5.0"]) / "bin" / "detect-secrets"
    except (subprocess.CalledProcessError, OSError) as exc:
        print(f"detect-secrets unavailable: {exc}", file=sys.stderr)
        return None
    return exe if exe.exists() else None


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], **kwargs: object) -> tuple[float, float, subprocess.CompletedProcess[bytes]]:
    """Wall seconds and CPU seconds (user+sys of the process and its workers) of one command.

    CPU seconds are what "MB/s on one core" is computed from: on a shared machine the wall clock also
    measures everyone else's load.
    """
    c0, t0 = _child_cpu(), time.perf_counter()
    proc = subprocess.run(cmd, check=False, capture_output=True, **kwargs)  # type: ignore[call-overload]
    return time.perf_counter() - t0, _child_cpu() - c0, proc


def run_cnsec(tree: Path, out: Path, *extra: str) -> tuple[float, float]:
    wall, cpu, proc = timed([str(CNSEC), "data", "scan", str(tree), "-f", "json", "-o", str(out),
                             "--fail-on", "none", *extra])
    if proc.returncode != 0:
        raise SystemExit(proc.stderr.decode()[-2000:])
    return wall, cpu


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=200)
    ap.add_argument("--peer-mb", type=int, default=8, help="slice of the tree given to detect-secrets")
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--keep", metavar="DIR", help="generate into DIR and keep it")
    args = ap.parse_args()

    workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="cnsec-secrets-bench-"))
    tree = workdir / "tree"
    try:
        t0 = time.perf_counter()
        if tree.exists():
            shutil.rmtree(tree)
        planted_at, total = generate(tree, args.size_mb)
        mb = total / 1e6
        print(f"generated {mb:.0f} MB, {sum(1 for _ in tree.rglob('*') if _.is_file())} files, "
              f"{len(planted_at)} planted secrets in {time.perf_counter() - t0:.1f}s")

        report = workdir / "cnsec.json"
        run_cnsec(tree, report, "-j", "1")  # warm the page cache
        w1, c1 = run_cnsec(tree, report, "-j", "1")
        data = json.loads(report.read_text())
        lines = {(f["asset_id"], f["source"]["line"]) for f in data["findings"]}
        found = sum(1 for p in planted_at if p in lines)
        extra = len(data["findings"]) - found
        cnsec_mbps = mb / c1
        print(f"cnsec -j 1 ({data['summary'].get('engine')}): {c1:.2f} CPU-s ({w1:.2f}s wall)  "
              f"{cnsec_mbps:.1f} MB/s per core  planted found {found}/{len(planted_at)}  other findings {extra}")
        wn, cn = run_cnsec(tree, workdir / "cnsec-all.json")
        print(f"cnsec -j {os.cpu_count()}: {wn:.2f}s wall ({cn:.2f} CPU-s)  {mb / wn:.1f} MB/s wall")
        wr, cr = run_cnsec(tree, workdir / "cnsec-re2.json", "-j", "1", "--engine", "re2")
        same = json.loads((workdir / "cnsec-re2.json").read_text())["findings"] == data["findings"]
        print(f"cnsec -j 1 --engine re2: {cr:.2f} CPU-s ({wr:.2f}s wall)  {mb / cr:.1f} MB/s per core  "
              f"identical findings: {same}")

        ratio_text = "n/a"
        exe = None if args.no_peer else ensure_detect_secrets()
        if exe is not None:
            slice_dir = workdir / "slice"
            if slice_dir.exists():
                shutil.rmtree(slice_dir)
            budget = args.peer_mb * 1_000_000
            taken = 0
            for path in sorted(tree.rglob("*")):
                if not path.is_file() or taken >= budget:
                    continue
                dest = slice_dir / path.relative_to(tree)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, dest)
                taken += path.stat().st_size
            wd, cd, proc = timed([str(exe), "-c", "1", "scan", "--all-files", "."], cwd=slice_dir)
            if proc.returncode == 0:
                ds_mbps = taken / 1e6 / cd
                ratio = cnsec_mbps / ds_mbps
                ratio_text = f"{ratio:.0f}"
                _, cc = run_cnsec(slice_dir, workdir / "cnsec-slice.json", "-j", "1")
                print(f"detect-secrets -c 1 on a {taken / 1e6:.1f} MB slice: {cd:.1f} CPU-s ({wd:.1f}s wall)  "
                      f"{ds_mbps:.3f} MB/s per core; cnsec on the same slice: {cc:.2f} CPU-s")
                print(f"ratio (MB/s per core, cnsec on the full tree / detect-secrets on the slice): {ratio:.0f}x")
            else:
                print(proc.stderr.decode()[-1000:], file=sys.stderr)
        print(f"RESULT cnsec_mbps={cnsec_mbps:.1f} vs_detect_secrets={ratio_text} "
              f"planted_found={found}/{len(planted_at)}")
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
