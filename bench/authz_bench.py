"""Authorization decisions: cnsec's compiled index vs pycasbin (FastEnforcer) vs cedarpy.

One RBAC policy (1,000 users, 50 roles with inheritance, 10,000 permissions with wildcards and
explicit denies) is built once and given to all three engines; the same requests go to each, the
answers must agree, and each engine's decisions/s and p50/p99 latency are measured. Also: who-can
over a 5,000-binding cluster dump, and (separately, deliberately slow) argon2id verification.

    .venv/bin/python bench/authz_bench.py            # installs casbin + cedarpy into bench/.venv-authz
    .venv/bin/python bench/authz_bench.py --login-timing 30 [--src DIR]   # known vs unknown user, CLI

``--login-timing N``: N wrong-password ``cnsec iam login`` processes for existing users and N for
unknown ones, interleaved (a fresh process each, as every real CLI login is), real argon2 parameters;
the medians must be equal within noise, or timing tells which usernames exist. ``--src`` runs the
CLI of another tree (an older commit, to compare in one run).

The peers run in their own venv (they are not project dependencies); this script drives them through
a subprocess and a JSON spec. Last line: ``RESULT cnsec_dps=… vs_casbin=… vs_cedar=… p99_us=… agree=…``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PEER_VENV = HERE / ".venv-authz"
N_USERS, N_ROLES, N_PERMS = 1000, 50, 10_000
N_TYPES, N_NAMES = 40, 50
ACTIONS = ["read", "list", "create", "update", "delete", "export", "approve", "rotate"]


# -------------------------------------------------------------------------------------- the policy
def build_spec(seed: int, n_requests: int, n_peer_requests: int) -> dict[str, Any]:
    """Permissions are ``type/name:action``, ``type:action`` (every name), with ``*`` actions; ~10%
    are denies. Roles inherit (role i from role i-10), users hold one or two roles."""
    rng = random.Random(seed)
    types = [f"t{i}" for i in range(N_TYPES)]
    names = [f"n{i}" for i in range(N_NAMES)]
    roles: dict[str, dict[str, Any]] = {}
    for r in range(N_ROLES):
        parents = [f"role{r - 10}"] if r >= 10 and r % 3 == 0 else []
        roles[f"role{r}"] = {"parents": parents, "perms": []}
    seen = set()
    while len(seen) < N_PERMS:
        role = f"role{rng.randrange(N_ROLES)}"
        t = rng.choice(types)
        res = t if rng.random() < 0.3 else f"{t}/{rng.choice(names)}"
        act = "*" if rng.random() < 0.1 else rng.choice(ACTIONS)
        eff = "deny" if rng.random() < 0.1 else "allow"
        key = (role, res, act, eff)
        if key in seen:
            continue
        seen.add(key)
        roles[role]["perms"].append([res, act, eff])
    users = {f"u{i}": sorted({f"role{rng.randrange(N_ROLES)}" for _ in range(rng.choice((1, 2)))})
             for i in range(N_USERS)}
    user_list = sorted(users)
    requests = [[rng.choice(user_list), rng.choice(ACTIONS), f"{rng.choice(types)}/{rng.choice(names)}"]
                for _ in range(n_requests)]
    return {"roles": roles, "users": users, "types": types, "names": names, "requests": requests,
            "peer_requests": requests[:n_peer_requests]}


def percentile(sorted_ns: list[int], p: float) -> float:
    if not sorted_ns:
        return 0.0
    i = min(len(sorted_ns) - 1, round(p / 100 * (len(sorted_ns) - 1)))
    return sorted_ns[i] / 1000.0


def time_peer(decide: Any, requests: list[list[str]]) -> dict[str, Any]:
    """One timed call per request (the peers are slow enough that timer overhead does not matter)."""
    clock = time.perf_counter_ns
    answers, lat = [], []
    for r in requests:
        t0 = clock()
        answers.append(bool(decide(*r)))
        lat.append(clock() - t0)
    total_s = sum(lat) / 1e9
    lat.sort()
    return {"answers": answers, "dps": len(requests) / total_s, "p50_us": percentile(lat, 50),
            "p99_us": percentile(lat, 99)}


def time_engine(decide: Any, requests: list[list[str]], repeat_for: float = 1.0) -> dict[str, Any]:
    """Throughput from whole passes over the requests; latency from per-call timings."""
    answers = [bool(decide(*r)) for r in requests]
    passes, total, started = 0, 0, time.perf_counter()
    while True:
        for user, action, resource in requests:
            decide(user, action, resource)
        passes += 1
        total += len(requests)
        elapsed = time.perf_counter() - started
        if elapsed >= repeat_for:
            break
    clock = time.perf_counter_ns
    lat = []
    for user, action, resource in requests:
        t0 = clock()
        decide(user, action, resource)
        lat.append(clock() - t0)
    lat.sort()
    return {"answers": answers, "dps": total / elapsed, "p50_us": percentile(lat, 50),
            "p99_us": percentile(lat, 99)}


# -------------------------------------------------------------------------------------- the peers
CASBIN_MODEL = """
[request_definition]
r = sub, typ, obj, act

[policy_definition]
p = sub, typ, obj, act, eft

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = r.typ == p.typ && r.act == p.act && keyMatch(r.obj, p.obj) && g(r.sub, p.sub)
"""


def run_casbin(spec: dict[str, Any]) -> dict[str, Any]:
    import casbin

    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp, "model.conf")
        model.write_text(CASBIN_MODEL)
        # the fast configuration: FastEnforcer indexed on (type, action), so each request is matched
        # against the few policies of its type and action only; '*' actions are expanded into the
        # benchmark's action set for that (same answers on every request here)
        e = casbin.FastEnforcer(str(model), cache_key_order=[1, 3])
    e.enable_auto_save(False)
    policies = []
    for role, r in spec["roles"].items():
        for res, act, eff in r["perms"]:
            typ, _, name = res.partition("/")
            for a in (ACTIONS if act == "*" else [act]):
                policies.append([role, typ, f"{typ}/{name}" if name else f"{typ}/*", a, eff])
    e.add_policies([list(p) for p in dict.fromkeys(map(tuple, policies))])
    groupings = [[u, role] for u, rs in spec["users"].items() for role in rs]
    groupings += [[role, p] for role, r in spec["roles"].items() for p in r["parents"]]
    e.add_grouping_policies(groupings)

    def decide(user: str, action: str, resource: str) -> bool:
        return bool(e.enforce(user, resource.partition("/")[0], resource, action))

    return time_peer(decide, spec["peer_requests"])


def run_cedar(spec: dict[str, Any]) -> dict[str, Any]:
    import cedarpy

    lines = []
    for role, r in spec["roles"].items():
        for res, act, eff in r["perms"]:
            typ, _, name = res.partition("/")
            a = "action" if act == "*" else f'action == Action::"{act}"'
            rr = f'resource == Res::"{res}"' if name else f'resource in Type::"{typ}"'
            lines.append(f'{"permit" if eff == "allow" else "forbid"}(principal in Role::"{role}", {a}, {rr});')
    policies = cedarpy.PolicySet.from_str("\n".join(lines))
    ents: list[dict[str, Any]] = []
    for role, r in spec["roles"].items():
        ents.append({"uid": {"type": "Role", "id": role}, "attrs": {},
                     "parents": [{"type": "Role", "id": p} for p in r["parents"]]})
    for user, rs in spec["users"].items():
        ents.append({"uid": {"type": "User", "id": user}, "attrs": {},
                     "parents": [{"type": "Role", "id": x} for x in rs]})
    for t in spec["types"]:
        ents.append({"uid": {"type": "Type", "id": t}, "attrs": {}, "parents": []})
        for n in spec["names"]:
            ents.append({"uid": {"type": "Res", "id": f"{t}/{n}"}, "attrs": {},
                         "parents": [{"type": "Type", "id": t}]})
    entities = cedarpy.Entities.from_json_str(json.dumps(ents))

    def decide(user: str, action: str, resource: str) -> bool:
        req = {"principal": f'User::"{user}"', "action": f'Action::"{action}"',
               "resource": f'Res::"{resource}"', "context": {}}
        return bool(cedarpy.is_authorized(req, policies, entities).allowed)

    return time_peer(decide, spec["peer_requests"])


def ensure_peer_venv() -> Path:
    py = PEER_VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
    check = subprocess.run([str(py), "-c", "import casbin, cedarpy"], capture_output=True)
    if check.returncode != 0:
        subprocess.run([str(py), "-m", "pip", "install", "--quiet", "casbin", "cedarpy"], check=True)
    return py


def peer(name: str, spec_path: Path) -> dict[str, Any]:
    py = ensure_peer_venv()
    out = subprocess.run([str(py), __file__, "--peer", name, "--spec", str(spec_path)], check=True,
                         capture_output=True, text=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


# -------------------------------------------------------------------------------------- cnsec
def run_cnsec(spec: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], float]:
    from cnsec.iam.authz import Authorizer, parse_permission
    from cnsec.model.identity import Role

    started = time.perf_counter()
    roles = {name: Role(name, [parse_permission(f"{res}:{act}", eff) for res, act, eff in r["perms"]],
                        list(r["parents"])) for name, r in spec["roles"].items()}
    authz = Authorizer(roles, spec["users"])
    compile_s = time.perf_counter() - started
    decide = authz.decide
    full = time_engine(decide, spec["requests"], repeat_for=2.0)
    peer_sample = {"answers": [bool(decide(*r)) for r in spec["peer_requests"]]}
    return full, peer_sample, compile_s


def who_can_bench(n_bindings: int = 5000) -> dict[str, float]:
    from cnsec.iam.rbac_audit import load_model
    from cnsec.k8s.rbac import parse_request

    rng = random.Random(7)
    items: list[dict[str, Any]] = []
    verbs = ["get", "list", "watch", "create", "update", "patch", "delete"]
    resources = ["pods", "secrets", "configmaps", "deployments", "services", "pods/exec", "jobs"]
    for i in range(500):
        rules = [{"apiGroups": ["", "apps", "batch"], "resources": rng.sample(resources, 3),
                  "verbs": rng.sample(verbs, 3)} for _ in range(4)]
        items.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                      "metadata": {"name": f"cr{i}"}, "rules": rules})
    for i in range(n_bindings):
        subject = {"kind": "ServiceAccount", "name": f"sa{i}", "namespace": f"ns{i % 100}"}
        if i % 10 == 0:
            items.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                          "metadata": {"name": f"crb{i}"}, "subjects": [subject],
                          "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                      "name": f"cr{rng.randrange(500)}"}})
        else:
            items.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                          "metadata": {"name": f"rb{i}", "namespace": f"ns{i % 100}"}, "subjects": [subject],
                          "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                      "name": f"cr{rng.randrange(500)}"}})
    with tempfile.TemporaryDirectory() as tmp:
        dump = Path(tmp, "cluster-dump.json")
        dump.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
        t0 = time.perf_counter()
        model, _ = load_model([str(dump)])
        t1 = time.perf_counter()
        grants = model.who_can(parse_request("get", "secrets"))
        t2 = time.perf_counter()
    return {"load_s": t1 - t0, "query_s": t2 - t1, "total_s": t2 - t0, "subjects": float(len(grants))}


def argon2_bench() -> float:
    from cnsec.iam import passwords

    h = passwords.hash_password("correct horse battery staple")
    t0 = time.perf_counter()
    for _ in range(5):
        passwords.verify_password(h, "correct horse battery staple")
    return (time.perf_counter() - t0) / 5 * 1000


def login_timing(tries: int, src: Path) -> dict[str, float]:
    import statistics

    from cnsec.iam.store import IamStore

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/iam.db"
        store = IamStore(url)
        store.init()
        store.import_users([{"username": f"known{i}", "password": "correct horse battery staple", "roles": []}
                            for i in range(tries)])
        env = {**os.environ, "CNSEC_DB": url, "PYTHONPATH": str(src)}
        times: dict[str, list[float]] = {"known": [], "unknown": [], "known_cpu": [], "unknown_cpu": []}
        for i in range(tries):  # distinct users and sources: no attempt is throttled
            for kind in (("known", "unknown") if i % 2 else ("unknown", "known")):
                argv = [sys.executable, "-m", "cnsec", "iam", "login", f"{kind}{i}", "--password-stdin",
                        "--source", f"{kind}-{i}"]
                t0, c0 = time.perf_counter(), _children_cpu()
                done = subprocess.run(argv, input="not the password\n", env=env, capture_output=True, text=True,
                                      check=False)
                times[kind].append((time.perf_counter() - t0) * 1000)
                times[f"{kind}_cpu"].append((_children_cpu() - c0) * 1000)  # less at the mercy of load
                if done.returncode != 1 or "invalid" not in done.stderr:
                    raise SystemExit(f"unexpected login outcome: {done.returncode} {done.stderr.strip()}")
    return {k: statistics.median(v) for k, v in times.items()}


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--login-timing", type=int, metavar="N", help="only: known vs unknown user login time")
    ap.add_argument("--src", type=Path, default=HERE.parent / "src", help="with --login-timing: the tree to run")
    ap.add_argument("--peer", choices=("casbin", "cedar"))
    ap.add_argument("--spec")
    ap.add_argument("--requests", type=int, default=20_000)
    ap.add_argument("--peer-requests", type=int, default=2_000)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    if args.peer:
        spec = json.loads(Path(args.spec).read_text())
        result = run_casbin(spec) if args.peer == "casbin" else run_cedar(spec)
        print(json.dumps(result))
        return 0

    sys.path.insert(0, str(HERE.parent / "src"))
    if args.login_timing:
        med = login_timing(args.login_timing, args.src.resolve())
        print(f"login (CLI process, wrong password), median of {args.login_timing}: known user "
              f"{med['known']:.0f} ms ({med['known_cpu']:.0f} ms CPU), unknown user {med['unknown']:.0f} ms "
              f"({med['unknown_cpu']:.0f} ms CPU) ({args.src})")
        print(f"RESULT login_known_ms={med['known']:.0f} login_unknown_ms={med['unknown']:.0f} "
              f"unknown_minus_known_ms={med['unknown'] - med['known']:.0f} "
              f"unknown_minus_known_cpu_ms={med['unknown_cpu'] - med['known_cpu']:.0f} tries={args.login_timing}")
        return 0
    spec = build_spec(args.seed, args.requests, args.peer_requests)
    n_perms = sum(len(r["perms"]) for r in spec["roles"].values())
    print(f"policy: {len(spec['users'])} users, {len(spec['roles'])} roles, {n_perms} permissions; "
          f"{len(spec['requests'])} requests ({len(spec['peer_requests'])} for the peers)")
    full, sample, compile_s = run_cnsec(spec)
    print(f"cnsec   : {full['dps']:>12,.0f} decisions/s  p50 {full['p50_us']:.2f} µs  p99 {full['p99_us']:.2f} µs"
          f"  (index compiled in {compile_s * 1000:.0f} ms; {sum(full['answers'])} allows)")
    with tempfile.TemporaryDirectory() as tmp:
        spec_path = Path(tmp, "spec.json")
        spec_path.write_text(json.dumps(spec))
        results = {}
        for name in ("casbin", "cedar"):
            try:
                results[name] = peer(name, spec_path)
            except (subprocess.CalledProcessError, OSError) as exc:
                err = getattr(exc, "stderr", "") or str(exc)
                print(f"{name}: could not run ({err.strip().splitlines()[-1] if err.strip() else exc})")
    agree = True
    for name, res in results.items():
        same = sum(a == b for a, b in zip(res["answers"], sample["answers"]))
        agree = agree and same == len(sample["answers"])
        print(f"{name:<8}: {res['dps']:>12,.0f} decisions/s  p50 {res['p50_us']:.2f} µs  p99 {res['p99_us']:.2f} µs"
              f"  agreement with cnsec {same}/{len(sample['answers'])}")
    if len(results) < 2:
        agree = False
    wc = who_can_bench()
    print(f"who-can : 5,000-binding cluster dump loaded in {wc['load_s']:.2f} s, "
          f"who-can get secrets in {wc['query_s'] * 1000:.1f} ms ({int(wc['subjects'])} subjects); "
          f"total {wc['total_s']:.2f} s")
    print(f"argon2id: {argon2_bench():.1f} ms per password verification (m=19 MiB, t=2, p=1; deliberately slow)")
    vs_casbin = full["dps"] / results["casbin"]["dps"] if "casbin" in results else 0.0
    vs_cedar = full["dps"] / results["cedar"]["dps"] if "cedar" in results else 0.0
    print(f"RESULT cnsec_dps={full['dps']:.0f} vs_casbin={vs_casbin:.1f} vs_cedar={vs_cedar:.1f} "
          f"p99_us={full['p99_us']:.2f} agree={'true' if agree else 'false'}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
