"""The IAM store: users, roles, brute-force throttling and the append-only audit log.

Everything lives in the database chosen by ``CNSEC_DB`` (SQLite by default, PostgreSQL by URL).
Every authentication and administration event is appended to ``iam_audit_log`` in the same
transaction as the change it records, hash-chained so that a removed or altered row is detectable
(and refused outright by triggers installed by the migrations).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, delete, insert, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from cnsec.errors import CnsecError, InputError, UsageError
from cnsec.iam import passwords
from cnsec.iam.authz import ALLOW, DENY, Authorizer, Decision, parse_permission
from cnsec.model.identity import Permission, Role
from cnsec.store import schema
from cnsec.store.engine import driver_message, get_engine, redact, resolve_url
from cnsec.store.migrations import Migration, MigrationError, require_current, upgrade

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,127}$")
#: The roles every store has (created by ``init``, never changed by it afterwards). The permissions are
#: ``resource:action``; ``cnsec serve`` declares one on every route (docs/serve.md has the table).
#: ``viewer`` reads everything but the user list and the audit log; ``analyst`` triages findings and
#: alerts and runs assessments; ``responder`` plans, approves and applies responses; ``ingest`` is the
#: role of the service account an audit webhook or falcosidekick posts with, and can do nothing else.
BUILTIN_ROLES: dict[str, tuple[list[str], list[str]]] = {
    "admin": (["*:*"], []),
    "viewer": (["*:read", "*:list"], ["users:read", "audit:read"]),
    "analyst": (["*:read", "*:list", "findings:triage", "alerts:ack", "assessments:create", "responses:plan"],
                ["users:read", "audit:read"]),
    "responder": (["*:read", "*:list", "alerts:ack", "responses:plan", "responses:approve", "responses:apply"],
                  ["users:read", "audit:read"]),
    "ingest": (["ingest:write"], []),
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
#: The PostgreSQL advisory lock that serialises IAM writes (any constant unique to cnsec's IAM).
PG_WRITE_LOCK = 0x636E_7365_6369_616D  # "cnseciam"


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


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """The audit log's hash chain: every break found (not only the first: a false break would
    otherwise hide real tampering after it), and the head hash to keep elsewhere as an anchor."""

    entries: int
    head: str
    breaks: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.breaks

    @property
    def message(self) -> str:
        if self.intact:
            return f"{self.entries} entries, chain intact, head {self.head or '(empty)'}"
        return f"{self.entries} entries, {len(self.breaks)} break(s):\n  " + "\n  ".join(self.breaks)

    def to_dict(self) -> dict[str, Any]:
        return {"intact": self.intact, "entries": self.entries, "head": self.head, "breaks": self.breaks,
                "message": self.message}


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
        self._ready = False

    # -- schema ---------------------------------------------------------------------------------------
    def init(self, actor: str = "cli") -> list[Migration]:
        """Create or upgrade the schema (Alembic, serialised against concurrent upgrades; a store from
        the pre-Alembic runner is adopted with every row kept) and the built-in roles; idempotent."""
        try:
            applied = upgrade(self.engine)
        except DBAPIError as exc:
            raise NotInitialized(f"cannot open the IAM store at {redact(self.url)}: "
                                 f"{driver_message(exc)}") from None
        with self.transaction() as conn:
            for name, (allow, deny) in BUILTIN_ROLES.items():
                if conn.execute(select(schema.roles.c.name).where(schema.roles.c.name == name)).first():
                    continue
                self._insert_role(conn, name, allow, deny, [], "built-in role")
            if applied:
                self.audit_in(conn, "store-init", actor, redact(self.url), "local", "success",
                            {"migrations": [m.version for m in applied]})
        self._ready = True
        return applied

    def require_ready(self) -> None:
        """One query per store object: the schema must be at the code's head. Never migrates (that is
        ``cnsec iam init``, run deliberately), so a login costs no migration machinery."""
        if self._ready:
            return
        try:
            require_current(self.engine, f"the IAM store at {redact(self.url)}")
        except MigrationError as exc:
            raise NotInitialized(str(exc)) from None
        except DBAPIError as exc:
            raise NotInitialized(f"cannot open the IAM store at {redact(self.url)}: "
                                 f"{driver_message(exc)}") from None
        self._ready = True  # a schema is not downgraded under a running process

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction serialised against every other IAM write, in any process.

        Every IAM write reads before it writes (the audit chain's head, a brute-force counter, the
        last TOTP step, a refresh token's state), so each takes the store's write lock first: a
        PostgreSQL transaction-scoped advisory lock, or on SQLite an update of the lock row, which
        takes the database's write lock before anything is read. Writes are a few milliseconds
        (password hashing happens outside), so one writer at a time costs nothing a user notices.
        """
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_WRITE_LOCK})
            else:
                conn.execute(update(schema.write_lock).values(writes=schema.write_lock.c.writes + 1))
            yield conn

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """Several reads that must agree (roles, then their permissions and parents) see one state
        of the database, whatever is committed in between: a REPEATABLE READ transaction on
        PostgreSQL, an explicit read transaction on SQLite (whose driver otherwise runs each SELECT
        on its own). Without it a role created between two reads gave a KeyError."""
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ")
            elif conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN")
            try:
                yield conn
            finally:
                conn.rollback()

    # -- audit ----------------------------------------------------------------------------------------
    def audit_in(self, conn: Connection, event: str, actor: str, subject: str, source: str = "local",
               outcome: str = "success", detail: Mapping[str, Any] | None = None) -> None:
        """Append one entry inside the caller's transaction, so that the change it records and the record
        commit together or not at all (the server's triage and comments use it); ``conn`` must come from
        :meth:`transaction` (the chain's head is read under its lock)."""
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
        with self.transaction() as conn:
            self.audit_in(conn, event, actor, subject, source, outcome, detail)

    def audit_entries(self, limit: int = 100, user: str | None = None) -> list[AuditEntry]:
        q = select(schema.audit_log).order_by(schema.audit_log.c.id.desc()).limit(limit)
        if user:
            q = q.where((schema.audit_log.c.subject == user) | (schema.audit_log.c.actor == user))
        with self.engine.connect() as conn:
            rows = conn.execute(q).mappings().all()
        return [AuditEntry(r["id"], r["ts"], r["event"], r["actor"], r["subject"], r["source"], r["outcome"],
                           json.loads(r["detail"])) for r in reversed(rows)]

    def verify_audit_chain(self, expect_head: str | None = None) -> ChainCheck:
        """Recompute the hash chain from the first entry and report every break.

        After a break the walk continues from the stored hash, so one edited or removed entry is one
        break and later tampering is still found. Entries cut off the end leave a valid shorter
        chain: ``expect_head`` (a head printed earlier and kept elsewhere) must still be in it.
        """
        prev = ""
        n = 0
        breaks: list[str] = []
        seen_head = expect_head is None
        try:
            with self.engine.connect() as conn:
                for r in conn.execute(select(schema.audit_log).order_by(schema.audit_log.c.id)).mappings():
                    n += 1
                    if r["prev_hash"] != prev:
                        breaks.append(f"entry {r['id']}: its prev_hash is not the hash of the entry before it "
                                      f"(an entry was removed, inserted or reordered, or the chain forked)")
                    if _chain_hash(r["prev_hash"], dict(r)) != r["hash"]:
                        breaks.append(f"entry {r['id']}: its content does not match its hash (edited)")
                    prev = r["hash"]
                    seen_head = seen_head or prev == expect_head
        except DBAPIError as exc:
            return ChainCheck(n, prev, [*breaks, f"the audit log cannot be read (table dropped?): "
                                                 f"{driver_message(exc)}"])
        if not seen_head:
            breaks.append(f"the expected head {expect_head} is not in the chain: entries were cut off the "
                          f"end (the chain now ends at {prev or 'nothing'})")
        return ChainCheck(n, prev, breaks)

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
        with self.transaction() as conn:
            if conn.execute(select(schema.roles.c.name).where(schema.roles.c.name == name)).first():
                raise UsageError(f"role {name!r} already exists")
            known = self._known_roles(conn)
            missing = [p for p in parents if p not in known]
            if missing:
                raise UsageError(f"unknown parent role(s): {', '.join(missing)}")
            self._insert_role(conn, name, allow, deny, parents, description)
            self.audit_in(conn, "role-add", actor, name, "local", "success",
                        {"allow": allow, "deny": deny, "parents": parents})
        self.roles()  # validates inheritance (a cycle is impossible: parents must exist first)

    def roles(self) -> dict[str, Role]:
        with self.snapshot() as conn:
            return self._roles(conn)

    def _roles(self, conn: Connection) -> dict[str, Role]:
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
            with self.transaction() as conn:
                for name, h, rl in hashed:
                    conn.execute(insert(schema.users).values(
                        username=name, password_hash=h, disabled=False, locked=False, mfa_enabled=False,
                        mfa_last_step=0, tokens_valid_after=0.0, created_at=now, updated_at=now))
                    for role in dict.fromkeys(rl):
                        conn.execute(insert(schema.user_roles).values(username=name, role=role))
                    self.audit_in(conn, event, actor, name, "local", "success", {"roles": rl})
                    out.append(User(name, tuple(rl), False, False, False, now))
        except IntegrityError:
            raise UsageError("a user was created concurrently; nothing imported") from None
        return out

    def _user_row(self, conn: Connection, username: str) -> Mapping[str, Any] | None:
        row = conn.execute(select(schema.users).where(schema.users.c.username == username)).mappings().first()
        return dict(row) if row is not None else None

    def get_user(self, username: str) -> User | None:
        with self.snapshot() as conn:
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
        self.require_ready()
        with self.snapshot() as conn:
            rows = conn.execute(select(schema.users).order_by(schema.users.c.username)).mappings().all()
            roles: dict[str, list[str]] = {}
            for name, role in conn.execute(select(schema.user_roles.c.username, schema.user_roles.c.role)
                                           .order_by(schema.user_roles.c.role)):
                roles.setdefault(name, []).append(role)
        return [User(r["username"], tuple(roles.get(r["username"], ())), bool(r["disabled"]), bool(r["locked"]),
                     bool(r["mfa_enabled"]), r["created_at"]) for r in rows]

    def _set_flag(self, username: str, event: str, actor: str, **values: Any) -> bool:
        self.require_ready()
        with self.transaction() as conn:
            row = self._user_row(conn, username)
            if row is None:
                raise UsageError(f"no user {username!r}")
            changed = any(row[k] != v for k, v in values.items())
            if changed:
                conn.execute(update(schema.users).where(schema.users.c.username == username)
                             .values(updated_at=self.clock(), **values))
            self.audit_in(conn, event, actor, username, "local", "success" if changed else "no-change", values)
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
        with self.transaction() as conn:
            conn.execute(delete(schema.throttle).where(schema.throttle.c.key == f"user:{username}"))
        return changed

    def set_roles(self, username: str, roles: Iterable[str], actor: str = "cli") -> None:
        roles = list(dict.fromkeys(roles))
        self.require_user(username)
        with self.transaction() as conn:
            known = self._known_roles(conn)
            unknown = [r for r in roles if r not in known]
            if unknown:
                raise UsageError(f"unknown role(s): {', '.join(unknown)}")
            conn.execute(delete(schema.user_roles).where(schema.user_roles.c.username == username))
            for r in roles:
                conn.execute(insert(schema.user_roles).values(username=username, role=r))
            self.audit_in(conn, "user-roles", actor, username, "local", "success", {"roles": roles})

    def set_password(self, username: str, password: str, actor: str = "cli") -> None:
        passwords.enforce_policy(password, username)
        self.require_user(username)
        h = passwords.hash_password(password, self.ph)
        with self.transaction() as conn:
            conn.execute(update(schema.users).where(schema.users.c.username == username)
                         .values(password_hash=h, updated_at=self.clock(), tokens_valid_after=self.clock()))
            self.audit_in(conn, "password-change", actor, username, "local", "success")

    def revoke_user_tokens(self, username: str, actor: str = "cli") -> int:
        """Every access token issued before now and every refresh token stop working immediately."""
        now = self.clock()
        with self.transaction() as conn:
            if self._user_row(conn, username) is None:
                raise UsageError(f"no user {username!r}")
            conn.execute(update(schema.users).where(schema.users.c.username == username)
                         .values(tokens_valid_after=now, updated_at=now))
            live = conn.execute(update(schema.refresh_tokens).where(
                (schema.refresh_tokens.c.username == username) & (schema.refresh_tokens.c.revoked.is_(False))
                & (schema.refresh_tokens.c.expires_at > now)).values(revoked=True)).rowcount
            self.audit_in(conn, "tokens-revoke", actor, username, "local", "success", {"refresh_tokens": live})
        return int(live or 0)

    # -- authorization --------------------------------------------------------------------------------
    def authorizer(self) -> Authorizer:
        with self.snapshot() as conn:
            roles = self._roles(conn)
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

    def _count_attempts(self, conn: Connection, budgets: Mapping[str, int], now: float) -> dict[str, int]:
        """Count one login attempt against each key *before* its password is checked; the new counts.

        One ``INSERT … ON CONFLICT DO UPDATE SET failures = failures + 1 … RETURNING`` for all keys,
        under :meth:`transaction`'s lock: parallel attempts each get their own number, and those past
        the free budget are throttled instead of all being checked against one stale count (which
        is what let 16 parallel guesses through). A success takes its count back.
        """
        # the dialect in use only (the PostgreSQL one costs 0.1 s to import)
        upsert: Any = importlib.import_module(f"sqlalchemy.dialects.{conn.dialect.name}").insert
        t = schema.throttle
        stmt = upsert(t).values([{"key": k, "failures": 1, "last_failure": now, "locked_until": 0.0}
                                 for k in budgets])
        stmt = stmt.on_conflict_do_update(index_elements=[t.c.key], set_={
            "failures": case((t.c.last_failure > now - FAILURE_WINDOW_SECONDS, t.c.failures + 1), else_=1),
            "last_failure": now})
        counts = {str(k): int(n) for k, n in conn.execute(stmt.returning(t.c.key, t.c.failures))}
        for key, free in budgets.items():
            if counts[key] >= free:
                conn.execute(update(t).where(t.c.key == key).values(
                    locked_until=now + min(BACKOFF_BASE_SECONDS * 2 ** (counts[key] - free), BACKOFF_MAX_SECONDS)))
        return counts

    def _uncount_attempt(self, conn: Connection, key: str, free: int) -> None:
        """A successful attempt was counted in advance: take that count back (the source's budget is
        for failures, and a script logging in every minute must not be throttled)."""
        t = schema.throttle
        conn.execute(update(t).where((t.c.key == key) & (t.c.failures > 0)).values(
            failures=t.c.failures - 1, locked_until=case((t.c.failures - 1 < free, 0.0), else_=t.c.locked_until)))

    def authenticate(self, username: str, password: str, source: str = "local",
                     totp: str | None = None) -> User:
        """Check the password (and TOTP when enrolled) under per-account and per-source throttling.

        Three steps: under the write lock, refuse a throttled or locked attempt or count it; check the
        password outside the lock (one argon2 verification whether or not the user exists); under the
        lock again, claim the TOTP step (a code wins once, however many logins race with it) and
        record the outcome. Every attempt is audited once. A refusal raises :class:`AuthError`, whose
        message depends only on what was typed, never on whether the user exists or the password
        was right — except a replayed TOTP code, which can only be told after a right password.
        """
        from cnsec.iam import mfa

        self.require_ready()
        now = self.clock()
        ukey, skey = f"user:{username}", f"source:{source}"
        refusal = ""
        failures = 0
        with self.transaction() as conn:
            row = self._user_row(conn, username)
            t = schema.throttle
            until = max([r[0] for r in conn.execute(select(t.c.locked_until).where(t.c.key.in_((ukey, skey))))],
                        default=0.0)
            if until > now:
                wait = until - now
                self.audit_in(conn, "login", username, username, source, "throttled", {"retry_after": round(wait, 1)})
                refusal = f"too many failed attempts: retry in {max(1, round(wait))} s"
            elif row is not None and row["locked"]:
                self.audit_in(conn, "login", username, username, source, "locked")
                refusal = "account locked after repeated failures: an administrator must run " \
                          "`cnsec iam users unlock`"
            else:
                failures = self._count_attempts(
                    conn, {ukey: ACCOUNT_FREE_FAILURES, skey: SOURCE_FREE_FAILURES}, now)[ukey]
        if refusal:
            raise AuthError(refusal)
        ok = passwords.verify_password(row["password_hash"] if row else passwords.dummy_hash(self.ph),
                                       password, self.ph)
        reason, step = "", None
        if row is None:
            reason = "unknown-user"
        elif not ok:
            reason = "bad-password"
        elif row["disabled"]:
            reason = "disabled"
        elif row["mfa_enabled"]:
            step = mfa.verify(row["mfa_secret"], totp or "", row["mfa_last_step"], now)
            if not totp:
                reason = "totp-required"
            elif step is None:
                reason = "totp-replayed" if mfa.replayed(row["mfa_secret"], totp, row["mfa_last_step"], now) \
                    else "bad-totp"
        rehash = None
        if not reason and row is not None and passwords.needs_rehash(row["password_hash"], self.ph):
            rehash = passwords.hash_password(password, self.ph)  # before the lock: it takes a while
        u = schema.users
        with self.transaction() as conn:
            if not reason and step is not None and not conn.execute(
                    update(u).where((u.c.username == username) & (u.c.mfa_last_step < step))
                    .values(mfa_last_step=step)).rowcount:
                reason = "totp-replayed"  # a parallel login with the same code claimed it first
            if reason:
                locked = row is not None and failures >= ACCOUNT_LOCKOUT_FAILURES
                if locked:
                    conn.execute(update(u).where(u.c.username == username).values(locked=True, updated_at=now))
                self.audit_in(conn, "login", username, username, source, "failure",
                            {"reason": reason, "failures": failures, "locked": locked})
            else:
                conn.execute(delete(schema.throttle).where(schema.throttle.c.key == ukey))
                self._uncount_attempt(conn, skey, SOURCE_FREE_FAILURES)
                detail: dict[str, Any] = {}
                if rehash is not None:
                    conn.execute(update(u).where(u.c.username == username)
                                 .values(password_hash=rehash, updated_at=now))
                    detail["rehashed"] = True
                self.audit_in(conn, "login", username, username, source, "success", detail)
        if reason == "totp-replayed":
            raise AuthError("this TOTP code was already used: wait for the next one")
        if reason:
            raise AuthError("invalid username, password or code"
                            + ("" if totp else " (an account with MFA also needs its TOTP code: --totp)"))
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
        with self.transaction() as conn:
            conn.execute(update(schema.users).where(schema.users.c.username == username)
                         .values(mfa_secret=secret, mfa_enabled=False, mfa_last_step=0,
                                 updated_at=self.clock()))
            self.audit_in(conn, "mfa-enrol-start", actor, username)
        return secret

    def mfa_confirm(self, username: str, code: str, actor: str = "cli") -> None:
        from cnsec.iam import mfa

        with self.transaction() as conn:
            row = self._user_row(conn, username)
            if row is None or not row["mfa_secret"]:
                raise UsageError(f"no pending MFA enrolment for {username!r}: run `cnsec iam mfa enable`")
            step = mfa.verify(row["mfa_secret"], code, row["mfa_last_step"], self.clock())
            if step is None:
                self.audit_in(conn, "mfa-enrol-confirm", actor, username, "local", "failure")
                raise AuthError("the code does not match: check the authenticator's clock and try again")
            conn.execute(update(schema.users).where(schema.users.c.username == username)
                         .values(mfa_enabled=True, mfa_last_step=step, updated_at=self.clock()))
            self.audit_in(conn, "mfa-enrol-confirm", actor, username)

    def mfa_disable(self, username: str, actor: str = "cli") -> bool:
        changed = self._set_flag(username, "mfa-disable", actor, mfa_enabled=False)
        with self.transaction() as conn:
            conn.execute(update(schema.users).where(schema.users.c.username == username)
                         .values(mfa_secret=None))
        return changed
