"""``cnsec iam``: the user store, logins and tokens, authorization decisions, and the offline
Kubernetes RBAC audit (``audit``, ``who-can``, ``can … PATH``).

Nothing heavy is imported here: SQLAlchemy, argon2 and the RBAC resolver load inside the handlers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from cnsec.iam.store import IamStore


def _store(args: argparse.Namespace) -> IamStore:
    from cnsec.iam.store import IamStore

    return IamStore(getattr(args, "db", None))


def _guarded(func: Any) -> Any:
    """A store command whose database is unreachable, or lacks a table, ends with one line and exit 2."""
    def run(args: argparse.Namespace) -> int:
        from cnsec.report.console import verbose
        from cnsec.store.engine import database_errors, redact, resolve_url

        url = resolve_url(getattr(args, "db", None))
        verbose(f"store: {redact(url)}")
        with database_errors(url):
            return int(func(args) or 0)
    return run


def _out(args: argparse.Namespace, data: Any, text: str) -> None:
    """Text carries names from manifests and login attempts: escapes are shown, never sent to the terminal."""
    if getattr(args, "format", None) == "json":
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    else:
        from cnsec.report.safe import printable

        sys.stdout.write(printable(text) + ("\n" if text and not text.endswith("\n") else ""))


def read_password(args: argparse.Namespace, prompt: str = "Password: ", confirm: bool = False) -> str:
    """From stdin (``--password-stdin``: one line) or the terminal without echo; never from argv."""
    from cnsec.errors import UsageError

    if getattr(args, "password_stdin", False):
        line = sys.stdin.readline()
        if not line:
            raise UsageError("--password-stdin: nothing on standard input")
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise UsageError("no terminal to read the password from: use --password-stdin")
    import getpass

    pw = getpass.getpass(prompt)
    if confirm and getpass.getpass("Again: ") != pw:
        raise UsageError("the two passwords differ")
    return pw


def _actor() -> str:
    return os.environ.get("CNSEC_ACTOR") or os.environ.get("USER") or "cli"


def _source(args: argparse.Namespace) -> str:
    if getattr(args, "source", None):
        return str(args.source)
    ssh = os.environ.get("SSH_CLIENT", "").split()
    return ssh[0] if ssh else "local"


# -- store commands ---------------------------------------------------------------------------------
def cmd_init(args: argparse.Namespace) -> int:
    from cnsec.store.engine import redact

    store = _store(args)
    applied = store.init(actor=_actor())
    what = ", ".join(f"{m.version} ({m.name})" for m in applied) or "none (already up to date)"
    _out(args, {"url": redact(store.url), "migrations": [m.version for m in applied]},
         f"IAM store ready at {redact(store.url)}; migrations applied: {what}")
    return 0


def cmd_users_add(args: argparse.Namespace) -> int:
    store = _store(args)
    store.require_ready()
    pw = read_password(args, f"Password for {args.username}: ", confirm=True)
    user = store.add_user(args.username, pw, args.role or [], actor=_actor())
    _out(args, user.to_dict(), f"user {user.username} created (roles: {', '.join(user.roles) or 'none'})")
    return 0


def cmd_users_import(args: argparse.Namespace) -> int:
    import yaml

    from cnsec.errors import InputError
    from cnsec.model.source import Source
    from cnsec.yamlsafe import error_line, error_message, load_documents

    path = args.file
    try:
        if path == "-":
            stdin = getattr(sys.stdin, "buffer", None)
            raw = stdin.read() if stdin is not None else sys.stdin.read().encode()
        else:
            with open(path, "rb") as handle:
                raw = handle.read()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", Source(path)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})",
                         Source(path, raw.count(b"\n", 0, exc.start) + 1)) from None
    try:
        docs = list(load_documents(text))
        duplicate = _duplicate_key(text)
    except yaml.YAMLError as exc:
        raise InputError(error_message(exc, text), Source(path, error_line(exc))) from None
    if duplicate is not None:  # the loader keeps the last value: a seed file must mean one thing
        raise InputError(f"duplicate key {duplicate[0]!r}", Source(path, duplicate[1]))
    if len(docs) > 1:
        raise InputError("expected a single YAML document", Source(path, docs[1][1]))
    data = docs[0][0] if docs else None
    if isinstance(data, dict) and isinstance(data.get("users"), list):
        data = data["users"]
    if not isinstance(data, list):
        raise InputError("expected a list of {username, password, role}", Source(path, 1))
    entries = data

    def where(i: int) -> Source:
        return Source(path, getattr(entries[i], "line", None) if i < len(entries) else None)

    users = _store(args).import_users(data, actor=_actor(), where=where)
    _out(args, [u.to_dict() for u in users], f"imported {len(users)} user(s)")
    return 0


def _duplicate_key(text: str) -> tuple[str, int] | None:
    """The first key repeated within one mapping, and its line. Walks the composed node graph once
    (aliases are shared nodes, visited once), after the safe loader has accepted the document."""
    import yaml

    stack = [n for n in yaml.compose_all(text, Loader=yaml.SafeLoader) if n is not None]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    if key_node.value in keys:
                        return str(key_node.value), key_node.start_mark.line + 1
                    keys.add(key_node.value)
                stack += (key_node, value_node)
        elif isinstance(node, yaml.SequenceNode):
            stack += node.value
    return None


def cmd_users_list(args: argparse.Namespace) -> int:
    users = _store(args).list_users()
    rows = [f"{u.username:<24} {','.join(u.roles) or '-':<24} "
            f"{'disabled' if u.disabled else 'locked' if u.locked else 'active':<9} "
            f"{'mfa' if u.mfa_enabled else ''}" for u in users]
    _out(args, [u.to_dict() for u in users], "\n".join(rows) or "no users")
    return 0


def _flag_cmd(method: str, done: str, same: str) -> Any:
    def run(args: argparse.Namespace) -> int:
        store = _store(args)
        store.require_ready()
        changed = getattr(store, method)(args.username, actor=_actor())
        _out(args, {"username": args.username, "changed": changed},
             f"user {args.username} {done}" if changed else f"user {args.username} {same}")
        return 0
    return run


def cmd_users_passwd(args: argparse.Namespace) -> int:
    store = _store(args)
    store.require_ready()
    store.require_user(args.username)
    store.set_password(args.username, read_password(args, f"New password for {args.username}: ", True),
                       actor=_actor())
    _out(args, {"username": args.username}, f"password changed for {args.username}; old tokens revoked")
    return 0


def cmd_users_roles(args: argparse.Namespace) -> int:
    store = _store(args)
    store.require_ready()
    store.set_roles(args.username, args.role or [], actor=_actor())
    _out(args, {"username": args.username, "roles": args.role or []},
         f"user {args.username}: roles {', '.join(args.role or []) or 'none'}")
    return 0


def cmd_roles_add(args: argparse.Namespace) -> int:
    store = _store(args)
    store.add_role(args.name, args.allow or [], args.deny or [], args.inherit or [], args.description or "",
                   actor=_actor())
    _out(args, {"role": args.name}, f"role {args.name} created")
    return 0


def cmd_roles_list(args: argparse.Namespace) -> int:
    store = _store(args)
    store.require_ready()
    roles = store.roles()
    data = {n: {"permissions": [f"{p.effect} {p}" for p in r.permissions], "inherits": r.parents}
            for n, r in roles.items()}
    lines = []
    for n, r in roles.items():
        inh = f" (inherits {', '.join(r.parents)})" if r.parents else ""
        lines.append(f"{n}{inh}: " + ", ".join(f"{p.effect} {p}" for p in r.permissions))
    _out(args, data, "\n".join(lines))
    return 0


def cmd_login(args: argparse.Namespace) -> int:
    from cnsec.iam.tokens import TokenService

    store = _store(args)
    store.require_ready()
    pw = read_password(args, f"Password for {args.username}: ")
    store.authenticate(args.username, pw, source=_source(args), totp=args.totp)
    pair = TokenService(store).issue(args.username, source=_source(args))
    if args.format == "json":
        _out(args, pair.to_dict(), "")
    else:
        sys.stdout.write(pair.access_token + "\n")
        sys.stdout.write(f"refresh token: {pair.refresh_token}\n")
        from cnsec.report.console import note

        note(f"access token expires in {pair.expires_in} s")
    return 0


def _token_option(p: argparse.ArgumentParser) -> None:
    """The token as an argument or ``--token`` (as ``tokens revoke`` takes it); ``-`` or neither: stdin."""
    p.add_argument("token", nargs="?", help="the token, or - for standard input (the default)")
    p.add_argument("--token", dest="token_option", metavar="TOKEN|-", help="the same, as an option")


def _given_token(args: argparse.Namespace) -> str:
    from cnsec.errors import UsageError

    if args.token is not None and args.token_option is not None:
        raise UsageError("give the token once: as an argument or with --token")
    return _token_arg(args.token if args.token is not None else args.token_option)


def _token_arg(value: str | None) -> str:
    from cnsec.errors import UsageError

    token = sys.stdin.readline().strip() if value in (None, "-") else str(value).strip()
    if not token:
        raise UsageError("no token given (argument or standard input)")
    return token


def cmd_tokens_verify(args: argparse.Namespace) -> int:
    from cnsec.iam.tokens import TokenService

    claims = TokenService(_store(args)).verify(_given_token(args))
    _out(args, claims, f"valid: {claims['sub']} (roles {', '.join(claims.get('roles', []))}), "
                       f"expires at {claims['exp']}")
    return 0


def cmd_tokens_refresh(args: argparse.Namespace) -> int:
    from cnsec.iam.tokens import TokenService

    pair = TokenService(_store(args)).refresh(_given_token(args), source=_source(args))
    if args.format == "json":
        _out(args, pair.to_dict(), "")
    else:
        sys.stdout.write(pair.access_token + "\n" + f"refresh token: {pair.refresh_token}\n")
    return 0


def cmd_tokens_revoke(args: argparse.Namespace) -> int:
    from cnsec.errors import UsageError
    from cnsec.iam.tokens import TokenService

    store = _store(args)
    store.require_ready()
    if args.user:
        n = store.revoke_user_tokens(args.user, actor=_actor())
        _out(args, {"user": args.user, "refresh_tokens_revoked": n},
             f"all tokens of {args.user} revoked ({n} live refresh token(s))")
        return 0
    if args.token:
        jti = TokenService(store).revoke(_token_arg(args.token), actor=_actor())
        _out(args, {"jti": jti}, f"token {jti} revoked")
        return 0
    raise UsageError("say what to revoke: --user NAME or --token TOKEN|-")


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    from cnsec.iam.tokens import TokenService

    store = _store(args)
    store.require_ready()
    kid = TokenService(store).rotate_key(actor=_actor())
    _out(args, {"kid": kid}, f"new signing key {kid} is active; older keys still verify until retired")
    return 0


def cmd_keys_list(args: argparse.Namespace) -> int:
    from cnsec.iam.tokens import TokenService

    store = _store(args)
    store.require_ready()
    keys = TokenService(store).keys()
    _out(args, keys, "\n".join(f"{k['kid']} {k['algorithm']} "
                               f"{'retired' if k['retired_at'] else 'active'}" for k in keys) or "no keys")
    return 0


def cmd_keys_retire(args: argparse.Namespace) -> int:
    from cnsec.iam.tokens import TokenService

    store = _store(args)
    store.require_ready()
    TokenService(store).retire_key(args.kid, actor=_actor())
    _out(args, {"kid": args.kid}, f"key {args.kid} retired: tokens it signed no longer verify")
    return 0


def cmd_mfa_enable(args: argparse.Namespace) -> int:
    from cnsec.iam import mfa

    store = _store(args)
    store.require_ready()
    secret = store.mfa_begin(args.username, actor=_actor())
    uri = mfa.provisioning_uri(secret, args.username)
    if args.format == "json":
        _out(args, {"username": args.username, "otpauth_uri": uri}, "")
    else:
        if not args.no_qr:
            sys.stdout.write(mfa.qr_text(uri))
        sys.stdout.write(f"{uri}\n")
        print(f"scan it, then confirm: cnsec iam mfa confirm {args.username} CODE", file=sys.stderr)
    return 0


def cmd_mfa_confirm(args: argparse.Namespace) -> int:
    store = _store(args)
    store.require_ready()
    store.mfa_confirm(args.username, args.code, actor=_actor())
    _out(args, {"username": args.username, "mfa_enabled": True}, f"MFA enabled for {args.username}")
    return 0


def cmd_log(args: argparse.Namespace) -> int:
    store = _store(args)
    store.require_ready()
    if args.verify or args.expect_head:
        check = store.verify_audit_chain(args.expect_head)
        _out(args, check.to_dict(), check.message)
        return 0 if check.intact else 1
    entries = store.audit_entries(args.limit, args.user)
    import datetime as dt

    lines = [f"{dt.datetime.fromtimestamp(e.ts, dt.UTC).isoformat(timespec='seconds')} {e.event:<16} "
             f"{e.outcome:<10} actor={e.actor} subject={e.subject} source={e.source}"
             + (f" {json.dumps(e.detail, sort_keys=True)}" if e.detail else "") for e in entries]
    _out(args, [e.to_dict() for e in entries], "\n".join(lines) or "no events")
    return 0


# -- can: the cnsec store, or Kubernetes RBAC when paths are given -----------------------------------
def _can_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-n", "--namespace")
    p.add_argument("-A", "--all-namespaces", action="store_true", help="Kubernetes: cluster-wide only")
    p.add_argument("--group", action="append", help="Kubernetes: a group the subject belongs to")
    p.add_argument("--name", help="Kubernetes: the object name (for resourceNames)")


def _who_can_options(p: argparse.ArgumentParser) -> None:
    from cnsec.k8s.live.options import add_cluster_options

    p.add_argument("-n", "--namespace", help="only this namespace (default: any)")
    p.add_argument("--name", help="the object name (for resourceNames)")
    add_cluster_options(p, compare=False)


def _split_remainder(args: argparse.Namespace, command: str = "can",
                     options: Callable[[argparse.ArgumentParser], None] = _can_options) -> None:
    """Options may come after the paths (``can SUBJ VERB RES ./deploy -n shop``): parse them here."""
    from cnsec.errors import UsageError

    rest = list(args.paths or [])
    if not any(a.startswith("-") and a != "-" for a in rest):
        return
    extra = argparse.ArgumentParser(prog=f"cnsec iam {command}", add_help=False, exit_on_error=False)
    options(extra)
    extra.add_argument("-f", "--format", choices=("text", "json"))
    extra.add_argument("--db")
    extra.add_argument("paths", nargs="*")
    try:
        parsed = extra.parse_intermixed_args(rest)
    except (argparse.ArgumentError, SystemExit) as exc:
        raise UsageError(f"iam {command}: {exc}") from None
    for key, value in vars(parsed).items():
        if value not in (None, False, []):
            setattr(args, key, value)
    args.paths = parsed.paths


def cmd_can(args: argparse.Namespace) -> int:
    _split_remainder(args)
    if args.paths:
        return _k8s_can(args)
    store = _store(args)
    decision = store.can(args.subject, args.verb, args.resource, actor=_actor())
    data = {"allowed": decision.allowed, "reason": decision.reason,
            "rule": None if decision.rule is None else {
                "role": decision.rule.role, "inherited_from": decision.rule.via,
                "permission": f"{decision.rule.resource}:{decision.rule.action}",
                "effect": decision.rule.effect}}
    _out(args, data, f"{'yes' if decision.allowed else 'no'} — {decision.reason}")
    return 0 if decision.allowed else 1


def _live_model(args: argparse.Namespace) -> tuple[Any, Any]:
    """``--cluster`` (helper live, #14): the RBAC model of the live cluster, and what was read."""
    from cnsec.errors import UsageError
    from cnsec.k8s.live.options import read_live
    from cnsec.k8s.rbac import RbacModel

    if args.paths:
        raise UsageError("give PATH or --cluster, not both")
    read = read_live(args)
    return RbacModel.from_resources(read.resources), read


def _k8s_model(args: argparse.Namespace) -> Any:
    from cnsec.iam.rbac_audit import load_model
    from cnsec.report.safe import printable

    if getattr(args, "cluster", False):
        model, read = _live_model(args)
        if read.problems and not model.resources:
            from cnsec.errors import InputError

            raise InputError("nothing could be read from the cluster")
        return model
    if not args.paths:
        from cnsec.errors import UsageError

        raise UsageError("give manifests, folders or a cluster dump, or --cluster")
    model, problems = load_model(args.paths)
    for p in problems:
        print(f"cnsec: {printable(p)}", file=sys.stderr)
    if problems and not model.resources:  # an answer from no RBAC at all would mislead
        from cnsec.errors import InputError

        raise InputError("nothing could be read")
    return model


def _k8s_can(args: argparse.Namespace) -> int:
    from cnsec.k8s.rbac import parse_request

    model = _k8s_model(args)
    req = parse_request(args.verb, args.resource, args.namespace, args.name or "")
    if req.namespace is None and not req.cluster_scoped and not args.all_namespaces:
        req = parse_request(args.verb, args.resource, "default", args.name or "")
    grant = model.can(args.subject, req, args.group or [])
    where = "cluster-wide" if req.namespace is None else f"in namespace {req.namespace}"
    if grant is None:
        _out(args, {"allowed": False, "request": str(req), "namespace": req.namespace},
             f"no — no binding lets {args.subject} {req} {where}")
        return 1
    data = {"allowed": True, "request": str(req), "namespace": req.namespace, **grant.to_dict()}
    _out(args, data, f"yes — {grant.binding.key} → {grant.role.key} rule {grant.rule.index} "
                     f"({grant.rule.describe()}) grants {grant.subject}")
    return 0


def cmd_who_can(args: argparse.Namespace) -> int:
    from cnsec.k8s.rbac import parse_request

    _split_remainder(args, "who-can", _who_can_options)
    model = _k8s_model(args)
    req = parse_request(args.verb, args.resource, args.namespace, args.name or "")
    grants = model.who_can(req)
    rows = [g.to_dict() for g in grants]
    lines = [f"{g.subject!s:<50} {g.binding.scope or 'cluster':<14} {g.binding.key} → {g.role.key}"
             for g in grants]
    _out(args, {"request": str(req), "namespace": req.namespace, "subjects": rows},
         "\n".join(lines) or f"nobody can {req}")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from cnsec.iam.rbac_report import audit_report, model_report
    from cnsec.report.output import emit

    if args.cluster:
        from cnsec.k8s.live.options import unline

        model, read = _live_model(args)
        report = model_report(model, read.root, read.problems)
        unline(report.findings)
    elif not args.paths:
        from cnsec.errors import UsageError

        raise UsageError("give manifests, folders or a cluster dump, or --cluster")
    else:
        report = audit_report(args.paths)
    code = emit(report, args)
    # as assess: the report (with its errors) is written, and nothing read is an input error
    return 2 if report.errors and not report.stats.get("resources") else code


# -- registration -----------------------------------------------------------------------------------
def register(sub: Any) -> None:
    iam = sub.add_parser("iam", help="identity & access: users, logins, tokens, RBAC decisions and audit",
                         description="cnsec's own users and access (stored in CNSEC_DB), and the offline "
                                     "Kubernetes RBAC audit.")
    iam.set_defaults(func=lambda a: (iam.print_help(sys.stderr), 2)[1])
    s = iam.add_subparsers(dest="iam_command", metavar="COMMAND")

    def add(parser: Any, name: str, func: Any, help_text: str, fmt: bool = True) -> Any:
        p = parser.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=_guarded(func))
        p.add_argument("--db", metavar="URL", help="SQLAlchemy URL of the store (default: $CNSEC_DB or a "
                                                   "SQLite file in the data directory)")
        if fmt:
            p.add_argument("-f", "--format", choices=("text", "json"), default="text")
        return p

    add(s, "init", cmd_init, "create or upgrade the IAM store")

    def group(name: str, help_text: str) -> Any:
        gp = s.add_parser(name, help=help_text, description=help_text)
        gp.set_defaults(func=lambda a: (gp.print_help(sys.stderr), 2)[1])
        return gp.add_subparsers(dest=f"{name}_command", metavar="ACTION")

    users = group("users", "manage users")
    p = add(users, "add", cmd_users_add, "create a user (password read without echo)")
    p.add_argument("username")
    p.add_argument("--role", action="append", help="role to grant (repeatable)")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p = add(users, "import", cmd_users_import, "import users from YAML: a list of {username, password, role}; "
                                               "all or nothing")
    p.add_argument("file", help="YAML file, or - for stdin")
    add(users, "list", cmd_users_list, "list users")
    for name, method, done, same, help_text in (
            ("disable", "disable_user", "disabled, tokens revoked", "was already disabled", "disable a user"),
            ("enable", "enable_user", "enabled", "was already enabled", "enable a user"),
            ("unlock", "unlock_user", "unlocked", "was not locked", "lift a brute-force lockout")):
        p = add(users, name, _flag_cmd(method, done, same), help_text)
        p.add_argument("username")
    p = add(users, "passwd", cmd_users_passwd, "change a user's password")
    p.add_argument("username")
    p.add_argument("--password-stdin", action="store_true")
    p = add(users, "roles", cmd_users_roles, "set a user's roles")
    p.add_argument("username")
    p.add_argument("--role", action="append")

    roles = group("roles", "manage roles")
    p = add(roles, "add", cmd_roles_add, "create a role from resource:action permissions")
    p.add_argument("name")
    p.add_argument("--allow", action="append", metavar="RESOURCE:ACTION")
    p.add_argument("--deny", action="append", metavar="RESOURCE:ACTION")
    p.add_argument("--inherit", action="append", metavar="ROLE", help="parent role (repeatable)")
    p.add_argument("--description")
    add(roles, "list", cmd_roles_list, "list roles")

    p = add(s, "login", cmd_login, "authenticate; prints the access token on the first line")
    p.add_argument("username")
    p.add_argument("--password-stdin", action="store_true")
    p.add_argument("--totp", metavar="CODE", help="the current TOTP code when MFA is enabled")
    p.add_argument("--source", help="client address for throttling and the audit log")

    tokens = group("tokens", "verify, refresh and revoke tokens")
    p = add(tokens, "verify", cmd_tokens_verify, "check an access token")
    _token_option(p)
    p = add(tokens, "refresh", cmd_tokens_refresh, "exchange a refresh token for a new pair")
    _token_option(p)
    p.add_argument("--source")
    p = add(tokens, "revoke", cmd_tokens_revoke, "revoke every token of a user, or one access token")
    p.add_argument("--user")
    p.add_argument("--token", metavar="TOKEN|-")

    keys = group("keys", "token signing keys")
    add(keys, "rotate", cmd_keys_rotate, "create a new active signing key")
    add(keys, "list", cmd_keys_list, "list signing keys")
    p = add(keys, "retire", cmd_keys_retire, "stop accepting tokens signed by a key")
    p.add_argument("kid")

    mfa = group("mfa", "TOTP second factor")
    p = add(mfa, "enable", cmd_mfa_enable, "start TOTP enrolment: otpauth URI and QR code")
    p.add_argument("username")
    p.add_argument("--no-qr", action="store_true")
    p = add(mfa, "confirm", cmd_mfa_confirm, "finish enrolment with a code from the authenticator")
    p.add_argument("username")
    p.add_argument("code")

    p = add(s, "log", cmd_log, "show (or --verify) the append-only audit log")
    p.add_argument("--user")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--verify", action="store_true", help="check the hash chain (reports every break and "
                                                         "prints the head hash to keep elsewhere)")
    p.add_argument("--expect-head", metavar="HASH", help="implies --verify: a head printed earlier must still "
                                                         "be in the chain (detects entries cut off the end)")

    p = add(s, "can", cmd_can, "can SUBJECT do VERB on RESOURCE? exit 0 yes, 1 no. Without PATH: the cnsec "
                               "store; with PATH: Kubernetes RBAC in those manifests")
    p.add_argument("subject")
    p.add_argument("verb")
    p.add_argument("resource")
    _can_options(p)
    p.add_argument("paths", nargs=argparse.REMAINDER, metavar="PATH",
                   help="manifests, folders or a cluster dump (options may follow)")

    p = add(s, "who-can", cmd_who_can, "which subjects may VERB RESOURCE in the manifests or the live cluster "
                                       "(Kubernetes RBAC)")
    p.add_argument("verb")
    p.add_argument("resource")
    _who_can_options(p)
    p.add_argument("paths", nargs=argparse.REMAINDER, metavar="PATH",
                   help="manifests, folders or a cluster dump (options may follow); or --cluster")
    from cnsec.k8s.live.options import add_cluster_options
    from cnsec.report.output import add_output_options

    p = s.add_parser("audit", help="risky Kubernetes RBAC grants in manifests, a cluster dump or the live cluster",
                     description="Risky grants per subject, with severity, why, and the binding, role and "
                                 "rule that grant them.")
    p.set_defaults(func=cmd_audit)
    p.add_argument("paths", nargs="*", metavar="PATH")
    add_output_options(p)
    add_cluster_options(p, compare=False)
