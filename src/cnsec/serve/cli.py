"""``cnsec serve``: the platform server; ``cnsec serve keys``: API keys for machines that post to it."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def register(sub: Any) -> None:
    from cnsec.detect import MAX_LATENESS  # the detect pillar's face: two small modules, no more
    from cnsec.serve.settings import DEFAULT_LATENESS  # constants and one dataclass: cheap
    p = sub.add_parser(
        "serve", help="the cnsec platform: API, dashboard, audit-webhook ingest, history in a database",
        description="Run the cnsec server (FastAPI + uvicorn) over the store in CNSEC_DB (default: a SQLite "
                    "file in the data directory). An empty store is created; there is no default user: "
                    "make the first with `cnsec iam users add admin --role admin`. See docs/serve.md.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default: 8443)")
    p.add_argument("--db", metavar="URL", help="SQLAlchemy URL of the store (default: $CNSEC_DB or the SQLite "
                                               "file in the data directory)")
    p.add_argument("--db-file", metavar="PATH",
                   help="read the store's URL from this file (a mounted Kubernetes Secret: the password stays "
                        "out of the environment and the process list)")
    p.add_argument("--tls-cert", metavar="PEM", help="serve HTTPS with this certificate (chain) file")
    p.add_argument("--tls-key", metavar="PEM", help="the certificate's private key")
    p.add_argument("--assess-root", action="append", default=[], metavar="DIR",
                   help="a server-side folder under which POST /v1/assessments may assess a path (repeatable; "
                        "default: none, only uploaded tarballs are assessed)")
    p.add_argument("--bus", metavar="URL", default=None,
                   help="detection over NATS JetStream (default: $CNSEC_BUS; none: detection runs in the "
                        "server): ingest publishes events to the bus at URL (nats://HOST:PORT) and answers "
                        "once JetStream stored them (503 + Retry-After while it cannot); `cnsec detect --bus URL "
                        "--worker` processes detect, and the server stores the alerts they publish. "
                        "See docs/scale.md")
    p.add_argument("--rules", action="append", default=[], metavar="PATH",
                   help="rule files or folders ingested events run through, as `cnsec detect --rules` "
                        "(repeatable; with the bundled rules unless --no-default-rules)")
    p.add_argument("--no-default-rules", action="store_true", help="only the --rules given")
    p.add_argument("--no-threats", action="store_true",
                   help="rule alerts only, no threat correlation (`cnsec detect --threats`): its reorder buffer "
                        "holds every rule hit of the last --lateness seconds and is part of each checkpoint, "
                        "the cost that grows with the event rate (docs/serve.md, \"Rules, threats and throughput\")")
    p.add_argument("--lateness", type=float, default=DEFAULT_LATENESS, metavar="SECONDS",
                   help="how far out of time order events may arrive and still be correlated, "
                        f"0 to {MAX_LATENESS:g} (default: {DEFAULT_LATENESS:g})")
    p.add_argument("--migrate", action="store_true",
                   help="upgrade a store made by an older cnsec before serving (take a backup first)")
    p.set_defaults(func=_serve)
    s = p.add_subparsers(dest="serve_command", metavar="COMMAND")
    keys = s.add_parser("keys", help="API keys for machines (audit webhook, falcosidekick, CI)",
                        description="API keys are bearer credentials tied to a user, acting with that "
                                    "user's roles (give a webhook's user only the 'ingest' role).")
    keys.set_defaults(func=lambda a: (keys.print_help(sys.stderr), 2)[1])
    ks = keys.add_subparsers(dest="keys_command", metavar="ACTION")
    k = ks.add_parser("add", help="make a key (printed once, never stored)")
    k.add_argument("--user", required=True, help="the user the key acts as")
    k.add_argument("--name", required=True, help="what the key is for (shown in lists)")
    k.add_argument("--expires", metavar="DURATION", help="lifetime such as 90d or 12h (default: no expiry)")
    k.add_argument("--db", metavar="URL", help="SQLAlchemy URL of the store")
    k.set_defaults(func=_keys_add)
    k = ks.add_parser("list", help="the keys: id, user, name, expiry, last use (never the key)")
    k.add_argument("--db", metavar="URL", help="SQLAlchemy URL of the store")
    k.add_argument("-f", "--format", choices=("text", "json"), default="text")
    k.set_defaults(func=_keys_list)
    k = ks.add_parser("revoke", help="revoke a key by its id")
    k.add_argument("id")
    k.add_argument("--db", metavar="URL", help="SQLAlchemy URL of the store")
    k.set_defaults(func=_keys_revoke)


def parse_duration(text: str) -> float:
    from cnsec.errors import UsageError

    text = text.strip()
    try:
        value = float(text[:-1]) * DURATION_UNITS[text[-1]] if text and text[-1] in DURATION_UNITS else float(text)
    except ValueError:
        raise UsageError(f"--expires {text!r}: give a number with s, m, h or d (90d)") from None
    if value <= 0:
        raise UsageError(f"--expires {text!r}: must be positive")
    return value


def _settings(args: argparse.Namespace) -> Any:
    from cnsec.errors import UsageError
    from cnsec.serve.settings import DEFAULT_LATENESS, DEFAULT_PORT, Settings

    if bool(getattr(args, "tls_cert", None)) != bool(getattr(args, "tls_key", None)):
        raise UsageError("--tls-cert and --tls-key go together")
    lateness = float(getattr(args, "lateness", DEFAULT_LATENESS))
    from cnsec.detect import check_lateness

    check_lateness(lateness)
    for path in getattr(args, "rules", None) or ():  # the detector loads them later, in its worker
        if not os.path.exists(path):
            raise UsageError(f"--rules {path}: no such file or folder")
    return Settings(db_url=_db_url(args), host=getattr(args, "host", "127.0.0.1"),
                    port=getattr(args, "port", None) or DEFAULT_PORT,
                    tls_cert=getattr(args, "tls_cert", None), tls_key=getattr(args, "tls_key", None),
                    assess_roots=tuple(getattr(args, "assess_root", None) or ()), bus=_bus_url(args),
                    rules=tuple(getattr(args, "rules", None) or ()),
                    default_rules=not getattr(args, "no_default_rules", False),
                    threats=not getattr(args, "no_threats", False),
                    lateness=lateness)


def _bus_url(args: argparse.Namespace) -> str | None:
    """``--bus``, else ``$CNSEC_BUS``; a URL that is no NATS URL is a usage error before anything starts."""
    import os

    from cnsec.errors import UsageError

    url = getattr(args, "bus", None) or os.environ.get("CNSEC_BUS") or None
    if url is None or getattr(args, "serve_command", None):  # `serve keys …` does not use the bus
        return None
    scheme = url.partition("://")[0] if "://" in url else ""
    if scheme not in ("nats", "tls"):
        raise UsageError(f"--bus: expected a NATS URL such as nats://127.0.0.1:4222 (got {scheme or 'no'} scheme)")
    return url


def _db_url(args: argparse.Namespace) -> str | None:
    from pathlib import Path

    from cnsec.errors import UsageError

    path = getattr(args, "db_file", None)
    if not path:
        return args.db  # type: ignore[no-any-return]
    if args.db:
        raise UsageError("--db and --db-file: give one")
    try:
        url = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--db-file {path}: cannot read it ({getattr(exc, 'strerror', None) or exc})") from None
    if not url:
        raise UsageError(f"--db-file {path}: the file is empty (it should hold the store's URL)")
    return url


def _open(args: argparse.Namespace, *, migrate: bool = False) -> Any:
    from cnsec.serve.context import ServeContext
    from cnsec.serve.startup import prepare

    ctx = ServeContext.open(_settings(args))
    prepare(ctx, migrate=migrate)
    return ctx


def _serve(args: argparse.Namespace) -> int:
    from cnsec.serve.startup import run

    ctx = _open(args, migrate=args.migrate)
    return run(ctx)


def _keys_add(args: argparse.Namespace) -> int:
    from cnsec.serve.auth import add_key

    ctx = _open(args)
    key, rec = add_key(ctx, args.user, args.name, parse_duration(args.expires) if args.expires else None)
    print(key)
    print(f"key {rec.id} for {rec.username} ({rec.name}): shown once, keep it in a secret store", file=sys.stderr)
    return 0


def _keys_list(args: argparse.Namespace) -> int:
    import json

    from cnsec.serve.auth import list_keys

    keys = list_keys(_open(args))
    if args.format == "json":
        print(json.dumps([k.to_dict() for k in keys], indent=2))
        return 0
    for k in keys:
        state = "revoked" if k.revoked_at else "active"
        print(f"{k.id}  {k.username:<16} {k.name:<24} {state}")
    if not keys:
        print("no API keys", file=sys.stderr)
    return 0


def _keys_revoke(args: argparse.Namespace) -> int:
    from cnsec.errors import UsageError
    from cnsec.serve.auth import revoke_key

    if not revoke_key(_open(args), args.id):
        raise UsageError(f"no active API key {args.id!r}")
    return 0
