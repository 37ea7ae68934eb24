from __future__ import annotations

import pytest
from sqlalchemy import Executable, delete, text, update
from sqlalchemy.exc import DBAPIError

from cnsec.errors import InputError, UsageError
from cnsec.iam import store as store_mod
from cnsec.iam.store import AuthError, IamStore, NotInitialized
from cnsec.store.schema import audit_log
from tests.iam.conftest import GOOD_PW, Clock


def test_init_is_idempotent(store: IamStore) -> None:
    assert store.init() == []


def test_store_must_be_initialized_before_use(db_url: str) -> None:
    with pytest.raises(NotInitialized, match="cnsec iam init"):
        IamStore(db_url).add_user("mary", GOOD_PW)


def test_user_is_created_with_roles_and_a_hash_not_the_password(store: IamStore) -> None:
    store.add_user("mary", GOOD_PW, ["admin"])
    assert store.get_user("mary").roles == ("admin",)  # type: ignore[union-attr]
    with store.engine.connect() as conn:
        dump = " ".join(str(r) for r in conn.execute(text("SELECT * FROM iam_users")))
        dump += " ".join(str(r) for r in conn.execute(text("SELECT * FROM iam_audit_log")))
    assert GOOD_PW not in dump and "$argon2id$" in dump


def test_weak_seed_file_is_refused_per_user_and_nothing_is_imported(store: IamStore) -> None:
    entries = [{"username": "alice", "password": "password123", "role": "admin"},
               {"username": "bob", "password": "a fine long passphrase", "role": "admin"},
               {"username": "carol", "password": "password123", "role": "admin"}]
    with pytest.raises(InputError) as info:
        store.import_users(entries)
    assert "'alice'" in str(info.value) and "'carol'" in str(info.value) and "common-password" in str(info.value)
    assert store.list_users() == []


def test_import_creates_every_valid_user(store: IamStore) -> None:
    store.import_users([{"username": "alice", "password": "a fine long passphrase", "role": "viewer"},
                        {"username": "bob", "password": "another fine passphrase", "roles": ["admin"]}])
    assert [u.username for u in store.list_users()] == ["alice", "bob"]


def test_unknown_role_is_refused(store: IamStore) -> None:
    with pytest.raises(InputError, match="unknown role"):
        store.add_user("mary", GOOD_PW, ["wizard"])


def test_role_with_unknown_parent_is_refused(store: IamStore) -> None:
    with pytest.raises(UsageError, match="unknown parent"):
        store.add_role("child", ["a:read"], parents=["ghost"])


def test_store_decision_uses_roles_and_inheritance(store: IamStore) -> None:
    store.add_role("auditor", ["findings:read", "reports:*"], ["keys:*"])
    store.add_role("lead", ["keys/app-data:read"], parents=["auditor"])
    store.add_user("mary", GOOD_PW, ["lead"])
    assert store.can("mary", "read", "findings/1").allowed
    assert not store.can("mary", "read", "keys/app-data").allowed


def test_login_succeeds_with_the_right_password(store: IamStore) -> None:
    store.add_user("mary", GOOD_PW, ["admin"])
    assert store.authenticate("mary", GOOD_PW).username == "mary"


def test_unknown_user_and_wrong_password_fail_the_same_way(store: IamStore) -> None:
    store.add_user("mary", GOOD_PW)
    with pytest.raises(AuthError) as a:
        store.authenticate("mary", "wrong password here")
    with pytest.raises(AuthError) as b:
        store.authenticate("ghost", "wrong password here")
    assert str(a.value) == str(b.value)


def test_repeated_failures_throttle_the_account_with_growing_delay(store: IamStore, clock: Clock) -> None:
    store.add_user("mary", GOOD_PW)
    for _ in range(store_mod.ACCOUNT_FREE_FAILURES):
        with pytest.raises(AuthError, match="invalid"):
            store.authenticate("mary", "wrong password here")
    with pytest.raises(AuthError, match="retry in"):
        store.authenticate("mary", GOOD_PW)
    first = store.throttle_state("user:mary")["locked_until"] - clock.t  # type: ignore[index]
    clock.advance(first + 0.1)
    with pytest.raises(AuthError, match="invalid"):
        store.authenticate("mary", "wrong password here")
    second = store.throttle_state("user:mary")["locked_until"] - clock.t  # type: ignore[index]
    assert second == pytest.approx(2 * first)


def test_account_locks_after_ten_failures_until_unlocked(store: IamStore, clock: Clock) -> None:
    store.add_user("mary", GOOD_PW)
    for _ in range(store_mod.ACCOUNT_LOCKOUT_FAILURES):
        clock.advance(1000)
        with pytest.raises(AuthError):
            store.authenticate("mary", "wrong password here", source=f"10.0.0.{_}")
    clock.advance(1000)
    with pytest.raises(AuthError, match="locked"):
        store.authenticate("mary", GOOD_PW)
    store.unlock_user("mary")
    assert store.authenticate("mary", GOOD_PW).username == "mary"


def test_one_source_failing_on_many_accounts_is_throttled(store: IamStore) -> None:
    for i in range(store_mod.SOURCE_FREE_FAILURES):
        with pytest.raises(AuthError, match="invalid"):
            store.authenticate(f"user{i}", "wrong password here", source="203.0.113.9")
    with pytest.raises(AuthError, match="retry in"):
        store.authenticate("someone", "wrong password here", source="203.0.113.9")


def test_success_clears_the_account_counter(store: IamStore) -> None:
    store.add_user("mary", GOOD_PW)
    with pytest.raises(AuthError):
        store.authenticate("mary", "wrong password here")
    store.authenticate("mary", GOOD_PW)
    assert store.throttle_state("user:mary") is None


def test_login_rehashes_when_parameters_changed(db_url: str, clock: Clock, fast_ph: object) -> None:
    from cnsec.iam import passwords

    old = IamStore(db_url, clock=clock, ph=fast_ph)
    old.init()
    old.add_user("mary", GOOD_PW)
    stronger = passwords.hasher(memory_kib=128, time_cost=1, parallelism=1)
    IamStore(db_url, clock=clock, ph=stronger).authenticate("mary", GOOD_PW)
    with old.engine.connect() as conn:
        h = conn.execute(text("SELECT password_hash FROM iam_users")).scalar_one()
    assert "m=128" in h
    assert old.audit_entries(1)[0].detail == {"rehashed": True}


def test_disabled_user_cannot_log_in(store: IamStore) -> None:
    store.add_user("john", GOOD_PW)
    store.disable_user("john")
    with pytest.raises(AuthError):
        store.authenticate("john", GOOD_PW)


def test_every_event_lands_in_the_audit_log(store: IamStore) -> None:
    store.add_role("auditor", ["findings:read"])
    store.add_user("mary", GOOD_PW, ["auditor"])
    with pytest.raises(AuthError):
        store.authenticate("mary", "wrong password here", source="198.51.100.7")
    events = [(e.event, e.outcome) for e in store.audit_entries(10)]
    assert ("role-add", "success") in events and ("user-add", "success") in events
    assert ("login", "failure") in events
    assert store.audit_entries(1)[0].source == "198.51.100.7"


def test_audit_log_refuses_updates_and_deletes(store: IamStore) -> None:
    for statement in ("UPDATE iam_audit_log SET outcome = 'x'", "DELETE FROM iam_audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.execute(text(statement))


def test_audit_chain_verifies(store: IamStore) -> None:
    store.add_user("mary", GOOD_PW)
    check = store.verify_audit_chain()
    assert check.intact and check.entries >= 2


def test_mfa_is_required_once_enrolled(store: IamStore, clock: Clock) -> None:
    import pyotp

    store.add_user("mary", GOOD_PW)
    secret = store.mfa_begin("mary")
    store.mfa_confirm("mary", pyotp.TOTP(secret).at(clock.t))
    clock.advance(30)
    with pytest.raises(AuthError, match="TOTP"):
        store.authenticate("mary", GOOD_PW)
    assert store.authenticate("mary", GOOD_PW, totp=pyotp.TOTP(secret).at(clock.t)).mfa_enabled


def test_a_replayed_totp_code_is_refused_and_said_to_be_already_used_after_a_right_password(
        store: IamStore, clock: Clock) -> None:
    import pyotp

    store.add_user("mary", GOOD_PW)
    secret = store.mfa_begin("mary")
    store.mfa_confirm("mary", pyotp.TOTP(secret).at(clock.t))
    clock.advance(30)
    code = pyotp.TOTP(secret).at(clock.t)
    store.authenticate("mary", GOOD_PW, totp=code)
    with pytest.raises(AuthError, match="already used"):
        store.authenticate("mary", GOOD_PW, totp=code)
    with pytest.raises(AuthError, match="invalid"):
        store.authenticate("mary", "wrong password here", totp=code)


def test_list_users_gives_each_user_with_their_roles(store: IamStore) -> None:
    store.import_users([{"username": "alice", "password": "a fine long passphrase", "roles": ["viewer", "admin"]},
                        {"username": "bob", "password": "another fine passphrase", "roles": []}])
    store.disable_user("bob")
    listed = store.list_users()
    assert [(u.username, u.roles, u.disabled) for u in listed] == [("alice", ("admin", "viewer"), False),
                                                                   ("bob", (), True)]
    assert listed == [store.get_user("alice"), store.get_user("bob")]


def _tamper(store: IamStore, *statements: Executable) -> None:
    """What an attacker with the database owner's rights does: drop the append-only triggers first."""
    on = " ON iam_audit_log" if store.engine.dialect.name == "postgresql" else ""
    with store.engine.begin() as conn:
        for op in ("update", "delete"):
            conn.execute(text(f"DROP TRIGGER iam_audit_log_no_{op}{on}"))
        for statement in statements:
            conn.execute(statement)


def test_audit_chain_reports_every_edited_entry_not_only_the_first(store: IamStore) -> None:
    for name in ("alice", "bob", "carol"):
        store.add_user(name, GOOD_PW)
    ids = [e.id for e in store.audit_entries(10)]
    _tamper(store, update(audit_log).where(audit_log.c.id.in_((ids[1], ids[3]))).values(outcome="x"))
    check = store.verify_audit_chain()
    assert not check.intact
    assert [b.split(":")[0] for b in check.breaks] == [f"entry {ids[1]}", f"entry {ids[3]}"]


def test_audit_chain_reports_a_removed_entry_once_and_tampering_after_it(store: IamStore) -> None:
    for name in ("alice", "bob", "carol"):
        store.add_user(name, GOOD_PW)
    ids = [e.id for e in store.audit_entries(10)]
    _tamper(store, delete(audit_log).where(audit_log.c.id == ids[1]),
            update(audit_log).where(audit_log.c.id == ids[3]).values(actor="someone"))
    assert [b.split(":")[0] for b in store.verify_audit_chain().breaks] == [f"entry {ids[2]}", f"entry {ids[3]}"]


def test_entries_cut_off_the_end_are_found_with_the_head_kept_elsewhere(store: IamStore) -> None:
    store.add_user("alice", GOOD_PW)
    head = store.verify_audit_chain().head
    store.add_user("bob", GOOD_PW)
    assert store.verify_audit_chain(expect_head=head).intact  # the log grew: the anchor is still in it
    last = store.audit_entries(2)
    _tamper(store, delete(audit_log).where(audit_log.c.id >= last[0].id))
    assert store.verify_audit_chain().intact  # a shorter chain is still a chain...
    check = store.verify_audit_chain(expect_head=head)
    assert not check.intact and "cut off the end" in check.breaks[0]  # ...but the anchor is gone


def test_a_dropped_audit_table_is_a_failed_check_with_a_message(store: IamStore) -> None:
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE iam_audit_log"))
    check = store.verify_audit_chain()
    assert not check.intact and "cannot be read" in check.breaks[0]


def test_an_unknown_user_costs_one_verification_with_the_stores_parameters_and_no_hash(
        store: IamStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each CLI run is a fresh process: computing a dummy hash there made unknown users slower."""
    import argon2

    from cnsec.iam import passwords

    store.add_user("mary", GOOD_PW)
    work: list[str] = []
    real_hash, real_verify = passwords.hash_password, passwords.verify_password
    monkeypatch.setattr(passwords, "hash_password", lambda *a, **k: work.append("hash") or real_hash(*a, **k))

    def verify(stored: str, password: str, ph: object = None) -> bool:
        work.append(str(argon2.extract_parameters(stored)))
        return real_verify(stored, password, ph)  # type: ignore[arg-type]

    monkeypatch.setattr(passwords, "verify_password", verify)
    cache_clear = getattr(passwords.dummy_hash, "cache_clear", None)
    for name in ("mary", "ghost"):
        if cache_clear:
            cache_clear()  # as in a new process
        with pytest.raises(AuthError):
            store.authenticate(name, "wrong password here", source=name)
    assert work[0] == work[1] and len(work) == 2


def test_without_a_code_the_message_does_not_tell_whether_the_password_was_right(
        store: IamStore, clock: Clock) -> None:
    import pyotp

    store.add_user("mary", GOOD_PW)
    store.mfa_confirm("mary", pyotp.TOTP(store.mfa_begin("mary")).at(clock.t))
    messages = set()
    for pw, user in ((GOOD_PW, "mary"), ("wrong password here", "mary"), ("wrong password here", "ghost")):
        clock.advance(1000)
        with pytest.raises(AuthError) as info:
            store.authenticate(user, pw, source=pw)
        messages.add(str(info.value))
    assert len(messages) == 1 and "TOTP" in messages.pop()


def test_list_users_on_an_uninitialised_store_says_to_run_init(db_url: str) -> None:
    with pytest.raises(NotInitialized, match="cnsec iam init"):
        IamStore(db_url).list_users()
