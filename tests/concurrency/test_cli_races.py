"""The races as the red team ran them: parallel ``cnsec iam login`` processes on one store.

Each process opens the store and then waits for its password on standard input; once every one
is waiting, all passwords are written at once, so the logins really start together. Run once per
database (the thread races in test_races.py repeat the same races many times, cheaply).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pyotp

import cnsec
from cnsec.iam import passwords
from cnsec.iam import store as store_mod
from cnsec.iam.store import IamStore
from tests.iam.conftest import GOOD_PW

SRC = str(Path(cnsec.__file__).resolve().parents[1])


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def _all_waiting(procs: list[subprocess.Popen[str]], timeout: float = 60.0) -> None:
    """Until no process uses CPU any more (each is blocked reading its password), or ``timeout``."""
    if not Path("/proc/self/stat").exists():
        time.sleep(5)
        return
    deadline = time.monotonic() + timeout
    before = [_cpu_ticks(p.pid) for p in procs]
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = [_cpu_ticks(p.pid) for p in procs]
        if now == before:
            return
        before = now


def _logins(url: str, user: str, attempts: list[tuple[str, str, str]]) -> list[tuple[int, str]]:
    """(exit code, stderr) of one ``cnsec iam login`` per (password, source, totp), released together."""
    env = {**os.environ, "CNSEC_DB": url, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    procs = []
    for _, source, totp in attempts:
        argv = [sys.executable, "-m", "cnsec", "iam", "login", user, "--password-stdin", "--source", source]
        procs.append(subprocess.Popen(argv + (["--totp", totp] if totp else []), env=env, text=True,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    _all_waiting(procs)
    for proc, (password, _, _) in zip(procs, attempts, strict=True):
        assert proc.stdin is not None
        proc.stdin.write(password + "\n")
        proc.stdin.flush()
    out = []
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        out.append((proc.returncode, err))
    return out


def test_parallel_cli_logins_with_wrong_passwords_are_each_counted_and_audited(race_url: str) -> None:
    store = IamStore(race_url)  # real argon2 parameters: the check takes as long as in production
    store.init()
    store.add_user("mary", GOOD_PW)
    results = _logins(race_url, "mary", [("not the right password", f"10.0.0.{i}", "") for i in range(8)])
    assert all(code == 1 and "Traceback" not in err for code, err in results), results
    checked = sum("invalid" in err for _, err in results)
    throttled = sum("retry in" in err for _, err in results)
    print(f"CLI RACE login on {race_url.split(':')[0]}: 8 processes, {checked} checked, {throttled} throttled")
    assert checked + throttled == 8
    # the budget is 3; a slow machine may see the 1 s backoff expire while the burst is still arriving
    assert store_mod.ACCOUNT_FREE_FAILURES <= checked <= store_mod.ACCOUNT_FREE_FAILURES + 2
    assert (store.throttle_state("user:mary") or {}).get("failures") == checked  # every check counted
    assert sum(e.event == "login" for e in store.audit_entries(100, "mary")) == 8
    assert store.verify_audit_chain().intact


def test_parallel_cli_logins_with_one_totp_code_succeed_once(race_url: str) -> None:
    store = IamStore(race_url, ph=passwords.hasher(memory_kib=64, time_cost=1, parallelism=1))
    store.init()
    store.add_user("tom", GOOD_PW)
    totp = pyotp.TOTP(store.mfa_begin("tom"))
    store.mfa_confirm("tom", totp.at(time.time() - 30))  # the previous step: the current one is still free
    code = totp.now()
    results = _logins(race_url, "tom", [(GOOD_PW, f"10.1.0.{i}", code) for i in range(4)])
    print(f"CLI RACE TOTP on {race_url.split(':')[0]}: 4 processes, exit codes {[c for c, _ in results]}")
    assert sorted(code for code, _ in results) == [0, 1, 1, 1]
    assert all("already used" in err or "retry in" in err for code, err in results if code), results
    assert store.verify_audit_chain().intact
