"""The IAM store: users, roles, brute-force throttling and the append-only audit log.

Everything lives in the database chosen by ``CNSEC_DB`` (SQLite by default, PostgreSQL by URL).
Every authentication and administration event is appended to ``iam_audit_log`` in the same
transaction as the change it records, hash-chained so that a removed or altered row is detectable
(and refused outright by triggers installed by the migrations).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from cnsec.errors import CnsecError, InputError, UsageError
from cnsec.iam import passwords, schema
from cnsec.iam.authz import ALLOW, DENY, Authorizer, Decision, parse_permission
from cnsec.model.identity import Permission, Role
from cnsec.store.engine import get_engine, redact, resolve_url
from cnsec.store.migrations import Migration, current_version, migrate

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,127}$")
BUILTIN_ROLES: dict[str, tuple[list[str], list[str]]] = {
    "admin": (["*:*"], []),
    "viewer": (["*:read", "*:list"], []),
}

#: Brute-force policy. Account: 3 free failures, then 1 s, 2 s, 4 s … (max 15 min) between attempts,
#: and a lockout that only an administrator lifts after 10 consecutive failures. Source: 10 free
#: failures, then the same backoff. Failures older than the window are forgotten.
ACCOUNT_FREE_FAILURES = 3
ACCOUNT_LOCKOUT_FAILURES = 10
SOURCE_FREE_FAILURES = 10
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 900.0
FAILURE_WINDOW_SECONDS = 3600.0


class AuthError(CnsecError):
    """Authentication refused. Exit code 1: not a usage mistake, and the message never says which
    part (user, password, code) was wrong."""

    exit_code = 1


class NotInitialized(CnsecError):
    pass


@dataclass(frozen=True, slots=True)
class User:
    username: str
    roles: tuple[str, ...]
    disabled: bool
    locked: bool
    mfa_enabled: bool
    created_at: float

    def to_dict(self) -> dict[str, Any]:
        return {"username": self.username, "roles": list(self.roles), "disabled": self.disabled,
                "locked": self.locked, "mfa_enabled": self.mfa_enabled, "created_at": self.created_at}


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    ts: float
    event: str
    actor: str
    subject: str
    source: str
    outcome: str
    detail: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "ts": self.ts, "event": self.event, "actor": self.actor,
                "subject": self.subject, "source": self.source, "outcome": self.outcome,
                "detail": self.detail}


def check_name(name: str, what: str = "username") -> str:
    value = (name or "").strip()
    if not NAME_RE.match(value):
        raise UsageError(f"invalid {what} {name!r}: use 1-128 of a-z 0-9 . _ @ - (lower case), "
                         f"starting with a letter or digit")
    return value


def _chain_hash(prev: str, row: Mapping[str, Any]) -> str:
    body = json.dumps({k: row[k] for k in ("ts", "event", "actor", "subject", "source", "outcome", "detail")},
                      sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev + body).encode()).hexdigest()


class IamStore:
    """One IAM store. ``clock`` and ``ph`` (argon2 hasher) are injectable for tests."""

    def __init__(self, url: str | None = None, *, clock: Callable[[], float] = time.time,
                 ph: Any = None, engine: Engine | None = None) -> None:
        self.url = resolve_url(url)
        self.engine = engine or get_engine(self.url)
        self.clock = clock
        self.ph = ph

    # -- schema ---------------------------------------------------------------------------------------
    def init(self, actor: str = "cli") -> list[Migration]:
        """Create or upgrade the schema and the built-in roles; idempotent."""
        applied = migrate(self.engine, schema.COMPONENT, schema.MIGRATIONS)
        with self.engine.begin() as conn:
            for name, (allow, deny) in BUILTIN_ROLES.items():
                if conn.execute(select(schema.roles.c.name).where(schema.roles.c.name == name)).first():
                    continue
                self._insert_role(conn, name, allow, deny, [], "built-in role")
            if applied:
                self._audit(conn, "store-init", actor, redact(self.url), "local", "success",
                            {"migrations": [m.version for m in applied]})
        return applied

    def require_ready(self) -> None:
        try:
            version = current_version(self.engine, schema.COMPONENT)
        except (OperationalError, ProgrammingError) as exc:
            raise NotInitialized(f"cannot open the IAM store at {redact(self.url)}: "
                                 f"{type(exc).__name__}") from None
        if version < schema.LATEST:
            raise NotInitialized(f"the IAM store at {redact(self.url)} is not initialized or out of date "
                                 f"(schema {version}, need {schema.LATEST}): run `cnsec iam init`")

    # -- audit ----------------------------------------------------------------------------------------
    def _audit(self, conn: Connection, event: str, actor: str, subject: str, source: str = "local",
               outcome: str = "success", detail: Mapping[str, Any] | None = None) -> None:
        last = conn.execute(select(schema.audit_log.c.hash).order_by(schema.audit_log.c.id.desc())
                            .limit(1)).first()
        prev = last[0] if last else ""
        row: dict[str, Any] = {
            "ts": round(self.clock(), 6), "event": event, "actor": actor, "subject": subject,
            "source": source, "outcome": outcome,
            "detail": json.dumps(dict(detail or {}), sort_keys=True, separators=(",", ":"), default=str),
        }
        row["prev_hash"] = prev
        row["hash"] = _chain_hash(prev, row)
        conn.execute(insert(schema.audit_log).values(**row))

    def audit(self, event: str, actor: str, subject: str, source: str = "local", outcome: str = "success",
              detail: Mapping[str, Any] | None = None) -> None:
        with self.engine.begin() as conn:
            self._audit(conn, event, actor, subject, source, outcome, detail)

    def audit_entries(self, limit: int = 100, user: str | None = None) -> list[AuditEntry]:
        q = select(schema.audit_log).order_by(schema.audit_log.c.id.desc()).limit(limit)
        if user:
            q = q.where((schema.audit_log.c.subject == user) | (schema.audit_log.c.actor == user))
        with self.engine.connect() as conn:
            rows = conn.execute(q).mappings().all()
        return [AuditEntry(r["id"], r["ts"], r["event"], r["actor"], r["subject"], r["source"], r["outcome"],
                           json.loads(r["detail"])) for r in reversed(rows)]

    def verify_audit_chain(self) -> tuple[bool, int, str]:
        """(intact, entries checked, message): recomputes the hash chain from the first entry."""
        prev = ""
        n = 0
        with self.engine.connect() as conn:
            for r in conn.execute(select(schema.audit_log).order_by(schema.audit_log.c.id)).mappings():
                n += 1
                if r["prev_hash"] != prev or _chain_hash(prev, dict(r)) != r["hash"]:
                    return False, n, f"audit log entry {r['id']} does not match the chain"
                prev = r["hash"]
        return True, n, f"{n} entries, chain intact"

    # -- roles ----------------------------------------------------------------------------------------
    def _insert_role(self, conn: Connection, name: str, allow: Iterable[str], deny: Iterable[str],
                     parents: Iterable[str], description: str) -> None:
        perms = [parse_permission(p, ALLOW) for p in allow] + [parse_permission(p, DENY) for p in deny]
        conn.execute(insert(schema.roles).values(name=name, description=description, created_at=self.clock()))
        for p in dict.fromkeys(perms):
            conn.execute(insert(schema.permissions).values(role=name, resource=p.resource, action=p.action,
                                                           effect=p.effect))
        for parent in dict.fromkeys(parents):
            conn.execute(insert(schema.role_parents).values(role=name, parent=parent))

    def add_role(self, name: str, allow: Iterable[str] = (), deny: Iterable[str] = (),
                 parents: Iterable[str] = (), description: str = "", actor: str = "cli") -> None:
        name = check_name(name, "role name")
        allow, deny, parents = list(allow), list(deny), [check_name(p, "role name") for p in parents]
        self.require_ready()
        with self.engine.begin() as conn:
            if conn.execute(select(schema.roles.c.name).where(schema.roles.c.name == name)).first():
                raise UsageError(f"role {name!r} already exists")
            known = self._known_roles(conn)
            missing = [p for p in parents if p not in known]
            if missing:
                raise UsageError(f"unknown parent role(s): {', '.join(missing)}")
            self._insert_role(conn, name, allow, deny, parents, description)
            self._audit(conn, "role-add", actor, name, "local", "success",
                        {"allow": allow, "deny": deny, "parents": parents})
        self.roles()  # validates inheritance (a cycle is impossible: parents must exist first)

    def roles(self) -> dict[str, Role]:
        with self.engine.connect() as conn:
            out = {r[0]: Role(r[0]) for r in conn.execute(select(schema.roles.c.name).order_by(schema.roles.c.name))}
            for r in conn.execute(select(schema.permissions).order_by(schema.permissions.c.id)).mappings():
                out[r["role"]].permissions.append(Permission(r["resource"], r["action"], r["effect"]))
            for r in conn.execute(select(schema.role_parents)).mappings():
                out[r["role"]].parents.append(r["parent"])
        return out

    # -- users ----------------------------------------------------------------------------------------
    def _known_roles(self, conn: Connection) -> set[str]:
        return {r[0] for r in conn.execute(select(schema.roles.c.name))}

    def add_user(self, username: str, password: str, roles: Iterable[str] = (), actor: str = "cli") -> User:
        return self.import_users([{"username": username, "password": password, "roles": list(roles)}],
                                 actor=actor, event="user-add")[0]

    def import_users(self, entries: list[Mapping[str, Any]], actor: str = "cli", event: str = "user-import",
                     where: Callable[[int], Any] | None = None) -> list[User]:
        """Validate every entry first, then create all users in one transaction: all or nothing.

        ``where(i)`` gives a :class:`~cnsec.model.Source` for entry ``i`` in error messages.
        """
        self.require_ready()
        problems: list[str] = []
        prepared: list[tuple[str, str, list[str]]] = []
        seen: set[str] = set()
        with self.engine.connect() as conn:
            known_roles = self._known_roles(conn)
            existing = {r[0] for r in conn.execute(select(schema.users.c.username))}
        for i, entry in enumerate(entries):
            loc = f"{where(i)}: " if where else ""
            if not isinstance(entry, Mapping):
                problems.append(f"{loc}entry {i + 1} must be a mapping with username, password, role")
                continue
            raw_name = entry.get("username")
            try:
                name = check_name(str(raw_name or ""))
            except UsageError as exc:
                problems.append(f"{loc}{exc.message}")
                continue
            pw = entry.get("password")
            role_value = entry.get("roles", entry.get("role"))
            role_list = [role_value] if isinstance(role_value, str) else list(role_value or [])
            if not isinstance(pw, str) or not pw:
                problems.append(f"{loc}user {name!r}: no password given")
            else:
                violations = passwords.check_policy(pw, name)
                if violations:
                    problems.append(f"{loc}{passwords.PasswordPolicyError(violations, name).message}")
            if name in existing:
                problems.append(f"{loc}user {name!r} already exists")
            if name in seen:
                problems.append(f"{loc}user {name!r} appears twice")
            seen.add(name)
            unknown = [str(r) for r in role_list if r not in known_roles]
            if unknown:
                problems.append(f"{loc}user {name!r}: unknown role(s) {', '.join(unknown)}")
            if isinstance(pw, str):
                prepared.append((name, pw, [str(r) for r in role_list]))
        if problems:
            if event == "user-import":
                raise InputError("nothing imported:\n  " + "\n  ".join(problems))
            raise InputError("; ".join(problems))
        hashed = [(name, passwords.hash_password(pw, self.ph), rl) for name, pw, rl in prepared]
        now = self.clock()
        out: list[User] = []
        try:
            with self.engine.begin() as conn:
                for name, h, rl in hashed:
                    conn.execute(insert(schema.users).values(
                        username=name, password_hash=h, disabled=False, locked=False, mfa_enabled=False,
                        mfa_last_step=0, tokens_valid_after=0.0, created_at=now, updated_at=now))
                    for role in dict.fromkeys(rl):
                        conn.execute(insert(schema.user_roles).values(username=name, role=role))
                    self._audit(conn, event, actor, name, "local", "success", {"roles": rl})
                    out.append(User(name, tuple(rl), False, False, False, now))
        except IntegrityError:
            raise UsageError("a user was created concurrently; nothing imported") from None
        return out

    def _user_row(self, conn: Connection, username: str) -> Mapping[str, Any] | None:
        row = conn.execute(select(schema.users).where(schema.users.c.username == username)).mappings().first()
        return dict(row) if row is not None else None

    def get_user(self, username: str) -> User | None:
        with self.engine.connect() as conn:
            row = self._user_row(conn, username)
            if row is None:
                return None
            roles = tuple(r[0] for r in conn.execute(
                select(schema.user_roles.c.role).where(schema.user_roles.c.username == username)
                .order_by(schema.user_roles.c.role)))
        return User(row["username"], roles, bool(row["disabled"]), bool(row["locked"]),
                    bool(row["mfa_enabled"]), row["created_at"])

    def require_user(self, username: str) -> User:
        user = self.get_user(username)
        if user is None:
            raise UsageError(f"no user {username!r}")
        return user

    def list_users(self) -> list[User]:
        """Two queries for the whole list (not two per user)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(schema.users).order_by(schema.users.c.username)).mappings().all()
            roles: dict[str, list[str]] = {}
            for name, role in conn.execute(select(schema.user_roles.c.username, schema.user_roles.c.role)
                                           .order_by(schema.user_roles.c.role)):
                roles.setdefault(name, []).append(role)
        return [User(r["username"], tuple(roles.get(r["username"], ())), bool(r["disabled"]), bool(r["locked"]),
                     bool(r["mfa_enabled"]), r["created_at"]) for r in rows]

    def _set_flag(self, username: str, event: str, actor: str, **values: Any) -> bool:
        self.require_ready()
        with self.engine.begin() as conn:
            row = self._user_row(conn, username)
            if row is None:
                raise UsageError(f"no user {username!r}")
            changed = any(row[k] != v for k, v in values.items())
            if changed:
                conn.execute(update(schema.users).where(schema.users.c.username == username)
                             .values(updated_at=self.clock(), **values))
            self._audit(conn, event, actor, username, "local", "success" if changed else "no-change", values)
        return changed

    def disable_user(self, username: str, actor: str = "cli") -> bool:
        """Disable and revoke every token at once (access tokens check ``tokens_valid_after``)."""
        changed = self._set_flag(username, "user-disable", actor, disabled=True)
        self.revoke_user_tokens(username, actor=actor)
        return changed

    def enable_user(self, username: str, actor: str = "cli") -> bool:
        return self._set_flag(username, "user-enable", actor, disabled=False)

    def unlock_user(self, username: str, actor: str = "cli") -> bool:
        changed = self._set_flag(username, "user-unlock", actor, locked=False)
        with self.engine.begin() as conn:
            conn.execute(delete(schema.throttle).where(schema.throttle.c.key == f"user:{username}"))
        return changed

    def set_roles(self, username: str, roles: Iterable[str], actor: str = "cli") -> None:
        roles = list(dict.fromkeys(roles))
        self.require_user(username)
        with self.engine.begin() as conn:
            known = self._known_roles(conn)
            unknown = [r for r in roles if r not in known]
            if unknown:
                raise UsageError(f"unknown role(s): {', '.join(unknown)}")
            conn.execute(delete(schema.user_roles).where(schema.user_roles.c.username == username))
            for r in roles:
                conn.execute(insert(schema.user_roles).values(username=username, role=r))
            self._audit(conn, "user-roles", actor, username, "local", "success", {"roles": roles})

    def set_password(self, username: str, password: str, actor: str = "cli") -> None:
        passwords.enforce_policy(password, username)
        self.require_user(username)
        h = passwords.hash_password(password, self.ph)
        with self.engine.begin() as conn:
            conn.execute(update(schema.users).where(schema.users.c.username == username)
                         .values(password_hash=h, updated_at=self.clock(), tokens_valid_after=self.clock()))
            self._audit(conn, "password-change", actor, username, "local", "success")

    def revoke_user_tokens(self, username: str, actor: str = "cli") -> int:
        """Every access token issued before now and every refresh token stop working immediately."""
        now = self.clock()
        with self.engine.begin() as conn:
            if self._user_row(conn, username) is None:
                raise UsageError(f"no user {username!r}")
            conn.execute(update(schema.users).where(schema.users.c.username == username)
                         .values(tokens_valid_after=now, updated_at=now))
            live = conn.execute(update(schema.refresh_tokens).where(
                (schema.refresh_tokens.c.username == username) & (schema.refresh_tokens.c.revoked.is_(False))
                & (schema.refresh_tokens.c.expires_at > now)).values(revoked=True)).rowcount
            self._audit(conn, "tokens-revoke", actor, username, "local", "success", {"refresh_tokens": live})
        return int(live or 0)

    # -- authorization --------------------------------------------------------------------------------
    def authorizer(self) -> Authorizer:
        roles = self.roles()
        with self.engine.connect() as conn:
            user_roles: dict[str, list[str]] = {
                r[0]: [] for r in conn.execute(select(schema.users.c.username))}
            for r in conn.execute(select(schema.user_roles)):
                user_roles[r[0]].append(r[1])
            disabled = [r[0] for r in conn.execute(
                select(schema.users.c.username).where(schema.users.c.disabled.is_(True)))]
        return Authorizer(roles, user_roles, disabled)

    def can(self, username: str, action: str, resource: str, actor: str = "cli") -> Decision:
        self.require_ready()
        decision = self.authorizer().decide(username, action, resource)
        self.audit("authz-check", actor, username, "local", "allow" if decision.allowed else "deny",
                   {"action": action, "resource": resource, "rule": str(decision.rule or "")})
        return decision

    # -- authentication -------------------------------------------------------------------------------
    def _throttle_state(self, conn: Connection, key: str) -> Mapping[str, Any] | None:
        row = conn.execute(select(schema.throttle).where(schema.throttle.c.key == key)).mappings().first()
        return dict(row) if row is not None else None

    def _record_failure(self, conn: Connection, key: str, free: int) -> int:
        now = self.clock()
        row = self._throttle_state(conn, key)
        failures = 1
        if row is not None and now - row["last_failure"] < FAILURE_WINDOW_SECONDS:
            failures = row["failures"] + 1
        locked_until = 0.0
        if failures >= free:
            locked_until = now + min(BACKOFF_BASE_SECONDS * 2 ** (failures - free), BACKOFF_MAX_SECONDS)
        values = {"failures": failures, "last_failure": now, "locked_until": locked_until}
        if row is None:
            conn.execute(insert(schema.throttle).values(key=key, **values))
        else:
            conn.execute(update(schema.throttle).where(schema.throttle.c.key == key).values(**values))
        return failures

    def authenticate(self, username: str, password: str, source: str = "local",
                     totp: str | None = None) -> User:
        """Check the password (and TOTP when enrolled) under per-account and per-source throttling.

        Every outcome is audited. A refused attempt raises :class:`AuthError` with a message that does
        not reveal whether the user exists.
        """
        self.require_ready()
        now = self.clock()
        ukey, skey = f"user:{username}", f"source:{source}"
        with self.engine.connect() as conn:
            row = self._user_row(conn, username)
            throttled = [s for s in (self._throttle_state(conn, ukey), self._throttle_state(conn, skey))
                         if s is not None and s["locked_until"] > now]
        if throttled:
            wait = max(s["locked_until"] for s in throttled) - now
            self.audit("login", username, username, source, "throttled", {"retry_after": round(wait, 1)})
            raise AuthError(f"too many failed attempts: retry in {max(1, round(wait))} s")
        if row is not None and row["locked"]:
            self.audit("login", username, username, source, "locked")
            raise AuthError("account locked after repeated failures: an administrator must run "
                            "`cnsec iam users unlock`")
        ok = passwords.verify_password(row["password_hash"] if row else passwords.dummy_hash(), password, self.ph)
        reason = "bad-password"
        if ok and row is not None and row["disabled"]:
            ok, reason = False, "disabled"
        if ok and row is not None and row["mfa_enabled"]:
            from cnsec.iam import mfa

            step = mfa.verify(row["mfa_secret"], totp or "", row["mfa_last_step"], now)
            if step is None:
                ok, reason = False, "bad-totp" if totp else "totp-required"
            else:
                with self.engine.begin() as conn:
                    conn.execute(update(schema.users).where(schema.users.c.username == username)
                                 .values(mfa_last_step=step))
        if not ok or row is None:
            with self.engine.begin() as conn:
                failures = self._record_failure(conn, ukey, ACCOUNT_FREE_FAILURES)
                self._record_failure(conn, skey, SOURCE_FREE_FAILURES)
                locked = row is not None and failures >= ACCOUNT_LOCKOUT_FAILURES
                if locked:
                    conn.execute(update(schema.users).where(schema.users.c.username == username)
                                 .values(locked=True, updated_at=now))
                self._audit(conn, "login", username, username, source, "failure",
                            {"reason": reason if row is not None else "unknown-user", "failures": failures,
                             "locked": locked})
            if reason == "totp-required":
                raise AuthError("a TOTP code is required for this account (--totp)")
            raise AuthError("invalid username, password or code")
        with self.engine.begin() as conn:
            conn.execute(delete(schema.throttle).where(schema.throttle.c.key == ukey))
            detail: dict[str, Any] = {}
            if passwords.needs_rehash(row["password_hash"], self.ph):
                conn.execute(update(schema.users).where(schema.users.c.username == username)
                             .values(password_hash=passwords.hash_password(password, self.ph), updated_at=now))
                detail["rehashed"] = True
            self._audit(conn, "login", username, username, source, "success", detail)
        user = self.get_user(username)
        assert user is not None
        return user

    def throttle_state(self, key: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = self._throttle_state(conn, key)
        return dict(row) if row else None

    # -- MFA ------------------------------------------------------------------------------------------
    def mfa_begin(self, username: str, actor: str = "cli") -> str:
        """A new pending TOTP secret (active only after :meth:`mfa_confirm`)."""
        from cnsec.iam import mfa

        self.require_user(username)
        secret = mfa.new_secret()
        with self.engine.begin() as conn:
            conn.execute(update(schema.users).where(schema.users.c.username == username)
                         .values(mfa_secret=secret, mfa_enabled=False, mfa_last_step=0,
                                 updated_at=self.clock()))
            self._audit(conn, "mfa-enrol-start", actor, username)
        return secret

    def mfa_confirm(self, username: str, code: str, actor: str = "cli") -> None:
        from cnsec.iam import mfa

        with self.engine.begin() as conn:
            row = self._user_row(conn, username)
            if row is None or not row["mfa_secret"]:
                raise UsageError(f"no pending MFA enrolment for {username!r}: run `cnsec iam mfa enable`")
            step = mfa.verify(row["mfa_secret"], code, row["mfa_last_step"], self.clock())
            if step is None:
                self._audit(conn, "mfa-enrol-confirm", actor, username, "local", "failure")
                raise AuthError("the code does not match: check the authenticator's clock and try again")
            conn.execute(update(schema.users).where(schema.users.c.username == username)
                         .values(mfa_enabled=True, mfa_last_step=step, updated_at=self.clock()))
            self._audit(conn, "mfa-enrol-confirm", actor, username)

    def mfa_disable(self, username: str, actor: str = "cli") -> bool:
        changed = self._set_flag(username, "mfa-disable", actor, mfa_enabled=False)
        with self.engine.begin() as conn:
            conn.execute(update(schema.users).where(schema.users.c.username == username)
                         .values(mfa_secret=None))
        return changed
