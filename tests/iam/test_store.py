from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from cnsec.errors import InputError, UsageError
from cnsec.iam import store as store_mod
from cnsec.iam.store import AuthError, IamStore, NotInitialized
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
    ok, n, _ = store.verify_audit_chain()
    assert ok and n >= 2


def test_mfa_is_required_once_enrolled(store: IamStore, clock: Clock) -> None:
    import pyotp

    store.add_user("mary", GOOD_PW)
    secret = store.mfa_begin("mary")
    store.mfa_confirm("mary", pyotp.TOTP(secret).at(clock.t))
    clock.advance(30)
    with pytest.raises(AuthError, match="TOTP"):
        store.authenticate("mary", GOOD_PW)
    assert store.authenticate("mary", GOOD_PW, totp=pyotp.TOTP(secret).at(clock.t)).mfa_enabled


def test_totp_code_cannot_be_replayed(store: IamStore, clock: Clock) -> None:
    import pyotp

    store.add_user("mary", GOOD_PW)
    secret = store.mfa_begin("mary")
    store.mfa_confirm("mary", pyotp.TOTP(secret).at(clock.t))
    clock.advance(30)
    code = pyotp.TOTP(secret).at(clock.t)
    store.authenticate("mary", GOOD_PW, totp=code)
    with pytest.raises(AuthError):
        store.authenticate("mary", GOOD_PW, totp=code)


def test_list_users_gives_each_user_with_their_roles(store: IamStore) -> None:
    store.import_users([{"username": "alice", "password": "a fine long passphrase", "roles": ["viewer", "admin"]},
                        {"username": "bob", "password": "another fine passphrase", "roles": []}])
    store.disable_user("bob")
    listed = store.list_users()
    assert [(u.username, u.roles, u.disabled) for u in listed] == [("alice", ("admin", "viewer"), False),
                                                                   ("bob", (), True)]
    assert listed == [store.get_user("alice"), store.get_user("bob")]
