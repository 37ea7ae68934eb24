"""The red-team races of issue #13, each run ``RUNS`` times; one wrong outcome fails the test.

Brute force: 16 wrong passwords from 16 sources at once must not all be checked — exactly the
account's free budget is, the rest are throttled, the counter counts every checked attempt — and
the right password right after is throttled too. TOTP: one valid code raced by four logins wins
once. Audit: parallel writes leave one unbroken hash chain with one entry per write.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pyotp
from sqlalchemy import text

from cnsec.iam import store as store_mod
from cnsec.iam.store import IamStore
from tests.concurrency.conftest import RUNS, Clients, Outcome, report
from tests.iam.conftest import GOOD_PW

WRONG = "not the right password"


def _kinds(outcomes: list[Outcome]) -> Counter[str]:
    """ok / invalid / throttled / used / locked / error: what each attempt was told."""
    def kind(o: Outcome) -> str:
        if o.kind != "refused":
            return o.kind
        for word, name in (("retry in", "throttled"), ("already used", "used"), ("locked", "locked"),
                           ("invalid", "invalid")):
            if word in o.text:
                return name
        return "refused-other"
    return Counter(kind(o) for o in outcomes)


def _entries(store: IamStore) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM iam_audit_log")).scalar_one())


def _problems(store: IamStore, expected_entries: int, before: int) -> list[str]:
    """Entries missing, or a fork (two entries chained to one predecessor: how concurrent appends
    broke the chain). The whole chain is verified once at the end (:func:`report`)."""
    with store.engine.connect() as conn:
        forks = conn.execute(text("SELECT count(*) FROM (SELECT prev_hash FROM iam_audit_log "
                                  "GROUP BY prev_hash HAVING count(*) > 1) AS f")).scalar_one()
    out = [f"audit chain forked at {forks} entries"] if forks else []
    if _entries(store) - before != expected_entries:
        out.append(f"{_entries(store) - before} audit entries for {expected_entries} events")
    return out


def _repeat(c: Clients, name: str, one_run: Callable[[int], str], runs: int = RUNS) -> None:
    """Run ``one_run(run)`` ``runs`` times (each returns what went wrong, or ""), report the race once
    (which also verifies the whole audit chain) and fail on any wrong outcome."""
    wrong = [f"run {run}: {problem}" for run in range(runs) if (problem := one_run(run))]
    message = report(name, c.admin, wrong, runs)
    assert not wrong, message


def _login(user: str, password: str, source: str, totp: str | None = None) -> Callable[[IamStore], object]:
    return lambda s: s.authenticate(user, password, source=source, totp=totp).username


def _brute_force(c: Clients, calls: list[Callable[[IamStore], object]], key: str, free: int,
                 then_right: str = "") -> str:
    """One run: ``free`` attempts are checked ("invalid"), the rest throttled, the counter says
    ``free``, every attempt is audited once; ``then_right``: the right password for that user right
    after is throttled too. A description of what went wrong, or ""."""
    before = _entries(c.admin)
    kinds = _kinds(c.race(calls))
    expected = Counter({"invalid": free, "throttled": len(calls) - free})
    if then_right:
        kinds.update(f"right-{k}" for k in _kinds(c.race([_login(then_right, GOOD_PW, "10.255.0.1")])))
        expected["right-throttled"] = 1
    state = c.admin.throttle_state(key) or {}
    problems = _problems(c.admin, len(calls) + bool(then_right), before)
    if kinds != expected or state.get("failures") != free or problems:
        return f"{dict(kinds)}, failures counted {state.get('failures')}, {problems}"
    return ""


def test_parallel_wrong_passwords_from_many_sources_get_only_the_free_budget(clients) -> None:  # type: ignore[no-untyped-def]
    c: Clients = clients(16)

    def one_run(run: int) -> str:
        user = f"mary{run}"
        c.admin.add_user(user, GOOD_PW)
        calls = [_login(user, WRONG, f"10.{run}.0.{i}") for i in range(16)]
        return _brute_force(c, calls, f"user:{user}", store_mod.ACCOUNT_FREE_FAILURES, then_right=user)

    _repeat(c, "login (16 wrong + right, many sources)", one_run)


def test_a_burst_from_one_source_counts_and_audits_every_attempt(clients) -> None:  # type: ignore[no-untyped-def]
    c: Clients = clients(12)

    def one_run(run: int) -> str:
        source = f"203.0.113.{run}"
        calls = [_login(f"ghost{run}-{i}", WRONG, source) for i in range(12)]
        return _brute_force(c, calls, f"source:{source}", store_mod.SOURCE_FREE_FAILURES)

    _repeat(c, "login (12-way burst, one source)", one_run)


def test_one_totp_code_raced_by_four_logins_wins_once(clients) -> None:  # type: ignore[no-untyped-def]
    c: Clients = clients(4)

    def one_run(run: int) -> str:
        user = f"tom{run}"
        c.admin.add_user(user, GOOD_PW)
        totp = pyotp.TOTP(c.admin.mfa_begin(user))
        c.admin.mfa_confirm(user, totp.at(c.clock.t))
        c.clock.advance(30)
        before = _entries(c.admin)
        kinds = _kinds(c.race([_login(user, GOOD_PW, f"t{run}-{i}", totp.at(c.clock.t)) for i in range(4)]))
        problems = _problems(c.admin, 4, before)
        successes = sum(e.outcome == "success" for e in c.admin.audit_entries(10, user) if e.event == "login")
        if kinds["ok"] != 1 or kinds["error"] or kinds["invalid"] or successes != 1 or problems:
            return f"{dict(kinds)}, {successes} successes audited, {problems}"
        return ""

    _repeat(c, "TOTP replay (4 logins, one code)", one_run)


def test_parallel_administration_keeps_one_audit_chain(clients) -> None:  # type: ignore[no-untyped-def]
    c: Clients = clients(8)

    def one_run(run: int) -> str:
        calls: list[Callable[[IamStore], object]] = [
            lambda s, i=i, run=run: s.add_role(f"role{run}-{i}", ["findings:read"]) for i in range(3)]
        calls += [lambda s, i=i: s.can("nobody", "read", f"findings/{i}") for i in range(3)]
        calls += [lambda s, i=i: s.audit("note", "test", f"subject{i}") for i in range(2)]
        before = _entries(c.admin)
        outs = c.race(calls)
        kinds = _kinds(outs)
        problems = _problems(c.admin, 8, before)
        if kinds != Counter({"ok": 8}) or problems:
            return f"{dict(kinds)}, {problems} {[o.text for o in outs if o.kind == 'error']}"
        return ""

    _repeat(c, "audit append (8 mixed writes)", one_run)


def test_parallel_first_logins_create_one_signing_key_and_parallel_revocations_one_record(clients) -> None:  # type: ignore[no-untyped-def]
    from cnsec.iam.tokens import TokenService

    c: Clients = clients(4)
    c.admin.add_user("kim", GOOD_PW)

    def one_run(run: int) -> str:
        admin = TokenService(c.admin)
        signing = admin.keys()
        for key in signing:  # no active key: the next logins create one
            if key["retired_at"] is None:
                admin.retire_key(key["kid"])
        kinds = _kinds(c.race([lambda s: TokenService(s).issue("kim").access_token] * 4))
        signing = admin.keys()
        active = [k for k in signing if k["retired_at"] is None]
        token = admin.issue("kim").access_token
        revoked = _kinds(c.race([lambda s, t=token: TokenService(s).revoke(t)] * 4))
        with c.admin.engine.connect() as conn:
            rows = conn.execute(text("SELECT count(*) FROM iam_revoked_tokens")).scalar_one()
        if kinds != Counter({"ok": 4}) or len(active) != 1 or revoked["error"] or rows != run + 1:
            return f"issue {dict(kinds)}, {len(active)} active keys, revoke {dict(revoked)}, {rows} revocations"
        return ""

    # not one of the issue's races: a lighter check of the same lock
    _repeat(c, "first key / one revocation (4 clients)", one_run, runs=max(1, RUNS // 5))
