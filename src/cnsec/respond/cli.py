"""``cnsec respond``: act on alerts by playbook (dry run unless ``--apply``), and verify the audit trail.

Exit codes: 0 every decision went through (planned, applied, unchanged or deliberately skipped);
1 at least one action failed, or ``verify`` found the trail tampered with; 2 usage or input errors
(bad alert line, bad playbook), reported with file:line before anything is done.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

VERBS = ("verify", "actions", "playbook")


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "respond", help="respond to alerts by playbook (dry run unless --apply); verify the audit trail",
        description="Respond to alerts (JSON lines from `cnsec detect -f jsonl`) with the actions a playbook "
                    "maps them to. Without --apply nothing is changed: the exact manifests and commands are "
                    "printed (and written to --out-dir). `cnsec respond verify` checks the audit trail's "
                    "hash chain; `cnsec respond actions` lists the actions; `cnsec respond playbook show` "
                    "prints the bundled default playbook (or --playbook FILE, checked) and `playbook init "
                    "[FILE]` writes a copy to adapt. Exit 0 ok, 1 an action failed "
                    "or the trail is tampered with, 2 usage/input errors. With -q the text output is the "
                    "decisions only, without the artifacts.",
        usage="cnsec respond ALERTS [--playbook FILE] [--apply] [--out-dir DIR] [options]\n"
              "       cnsec respond verify [--audit-log FILE] [--expect-head HASH]\n"
              "       cnsec respond actions\n"
              "       cnsec respond playbook show [--playbook FILE]\n"
              "       cnsec respond playbook init [FILE] [--force]")
    parser.add_argument("target", metavar="ALERTS", nargs="?",
                        help="alerts as JSON lines ('-' for stdin), or 'verify' / 'actions' / 'playbook'")
    parser.add_argument("playbook_args", metavar="show|init [FILE]", nargs="*",
                        help="after 'playbook': show, or init [FILE] (default playbook.yaml)")
    parser.add_argument("--force", action="store_true", help="playbook init: replace an existing file")
    parser.add_argument("--playbook", metavar="FILE",
                        help="playbook YAML (default: the bundled default playbook)")
    parser.add_argument("--apply", action="store_true",
                        help="act: call the Kubernetes API, run the commands, send the webhooks")
    parser.add_argument("--out-dir", metavar="DIR",
                        help="also write the manifests/commands/bodies and plan.json here (atomically)")
    parser.add_argument("--audit-log", metavar="FILE",
                        help="audit trail (default: $CNSEC_AUDIT_LOG or "
                             "$XDG_STATE_HOME/cnsec/respond-audit.jsonl)")
    parser.add_argument("--kubeconfig", metavar="FILE", help="kubeconfig (default: the current one)")
    parser.add_argument("--context", metavar="NAME", help="kubeconfig context (default: the current one)")
    parser.add_argument("-f", "--format", choices=("text", "json"), default="text")
    parser.add_argument("--expect-head", metavar="HASH",
                        help="verify: the head hash recorded earlier (detects records cut off the end)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cnsec.errors import UsageError

    if args.target is None:
        raise UsageError("respond: give an alerts file (or '-'), 'verify' or 'actions'")
    if args.target == "verify":
        return _verify(args)
    if args.target == "actions":
        return _actions(args)
    if args.target == "playbook":
        return _playbook(args)
    if args.playbook_args:
        raise UsageError(f"unexpected argument {args.playbook_args[0]!r} (one alerts file, or '-')")
    if args.expect_head:
        raise UsageError("--expect-head only goes with `cnsec respond verify`")
    return _respond(args)


def _audit_path(args: argparse.Namespace) -> Path:
    from cnsec.respond.audit import default_path

    return Path(args.audit_log) if args.audit_log else default_path()


def _verify(args: argparse.Namespace) -> int:
    from cnsec.respond.audit import verify

    path = _audit_path(args)
    outcome = verify(path, args.expect_head)
    if args.format == "json":
        print(json.dumps({"path": str(path), **outcome.to_dict()}, indent=2))
    elif outcome.ok:
        print(f"audit trail OK: {path}: {outcome.records} record(s), head {outcome.head}")
    else:
        where = f"{path}:{outcome.line}" if outcome.line else str(path)
        print(f"audit trail TAMPERED: {where}: {outcome.problem} "
              f"({outcome.records} record(s) verified before it)")
    return 0 if outcome.ok else 1


def _playbook(args: argparse.Namespace) -> int:
    """``playbook show``: the playbook a run would use, checked (the bundled one unless --playbook);
    ``playbook init [FILE]``: the bundled playbook copied out to adapt — never over a file unless
    --force, written atomically."""
    from cnsec.errors import UsageError
    from cnsec.respond.playbooks import bundled_playbook_path, load_playbook

    verb, *rest = args.playbook_args or ["show"]
    if verb == "show" and not rest:
        path = args.playbook or bundled_playbook_path()
        load_playbook(path)  # a broken playbook is reported with file:line, not printed as if usable
        sys.stdout.write(Path(path).read_text(encoding="utf-8"))
        return 0
    if verb == "init" and len(rest) <= 1:
        from cnsec.fsutil import atomic_write_text

        target = Path(rest[0] if rest else "playbook.yaml")
        if target.exists() and not args.force:
            raise UsageError(f"{target} exists; give another FILE or --force to replace it")
        atomic_write_text(target, Path(bundled_playbook_path()).read_text(encoding="utf-8"))
        print(f"wrote {target}: the bundled playbook; adapt namespaces, selectors and allow lists, then "
              f"`cnsec respond ALERTS --playbook {target}` (a dry run until --apply)", file=sys.stderr)
        return 0
    raise UsageError("usage: cnsec respond playbook show [--playbook FILE] | playbook init [FILE] [--force]")


def _actions(args: argparse.Namespace) -> int:
    from cnsec.respond.actions import load_actions

    actions = load_actions()
    if args.format == "json":
        print(json.dumps([{"id": a.id, "description": a.description, "disruptive": a.disruptive,
                           "params": {n: {"type": p.kind, "default": p.default, "help": p.help}
                                      for n, p in a.params.items()}}
                          for a in actions.values()], indent=2))
        return 0
    for action in actions.values():
        print(f"{action.id:<16} {action.description}")
        for name, param in action.params.items():
            print(f"    {name:<22} {param.kind:<9} default {param.default!r}: {param.help}")
    return 0


def _respond(args: argparse.Namespace) -> int:
    from cnsec.respond.actions.base import ActionContext
    from cnsec.respond.alerts import load_alerts
    from cnsec.respond.audit import AuditTrail
    from cnsec.respond.engine import Responder
    from cnsec.respond.playbooks import bundled_playbook_path, load_playbook

    playbook = load_playbook(args.playbook or bundled_playbook_path())
    alerts = load_alerts(args.target)

    def kube_factory() -> Any:
        from cnsec.respond.kube import KubernetesApi

        return KubernetesApi(args.kubeconfig, args.context)

    ctx = ActionContext(apply=args.apply, kube_factory=kube_factory)
    audit_path = _audit_path(args)
    result = Responder(playbook, ctx, AuditTrail(audit_path)).run(alerts)
    if args.out_dir:
        _write_out_dir(Path(args.out_dir), result)
    if args.format == "json":
        print(json.dumps(_result_dict(result, args, audit_path), indent=2, ensure_ascii=False))
    else:
        _print_text(result, args, audit_path)
    return 1 if result.failed else 0


def _result_dict(result: Any, args: argparse.Namespace, audit_path: Path) -> dict[str, Any]:
    return {
        "mode": "apply" if args.apply else "dry-run",
        "alerts": result.alerts,
        "matched": result.matched,
        "counts": dict(result.counts()),
        "rate_used": result.rate_used,
        "decisions": [d.to_dict() for d in result.decisions],
        "artifacts": result.artifacts,
        "notes": result.notes,
        "audit": {"path": str(audit_path), "head": result.audit_head},
    }


def _write_out_dir(out: Path, result: Any) -> None:
    from cnsec.errors import UsageError
    from cnsec.fsutil import atomic_write_text

    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, text in result.artifacts.items():
            atomic_write_text(out / name, text)
        plan = {"decisions": [d.to_dict() for d in result.decisions], "counts": dict(result.counts())}
        atomic_write_text(out / "plan.json", json.dumps(plan, indent=2, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise UsageError(f"--out-dir {out}: {exc.strerror or exc}") from None


def _print_text(result: Any, args: argparse.Namespace, audit_path: Path) -> None:
    """Alert keys, reasons and artifacts come from the input: control characters (terminal escapes)
    and bidi overrides are shown as visible escapes, never sent to the terminal; in a line about one
    decision a newline is shown as ``\\n`` too, so a key cannot forge a decision line of its own."""
    from cnsec.report.safe import one_line, printable

    def write(text: str) -> None:
        sys.stdout.write(printable(text))

    if args.apply:
        write("cnsec respond: APPLY\n")
    else:
        write("cnsec respond: dry run — nothing was changed (use --apply to act)\n")
    for d in result.decisions:
        target = f" {one_line(d.change.target)} [{one_line(d.change.subject)}]" if d.change else ""
        write(f"{d.outcome:<9} {one_line(d.action):<14}{target} — {one_line(d.reason)} "
              f"({one_line(d.alert.source)}, playbook rule {one_line(repr(d.playbook_rule))})\n")
    if result.artifacts and not args.quiet:
        for name, text in result.artifacts.items():
            write(f"\n### {name}\n{text}")
            if not text.endswith("\n"):
                write("\n")
    for note in result.notes:
        write(f"note: {one_line(note)}\n")
    counts = result.counts()
    summary = ", ".join(f"{k} {counts[k]}" for k in ("planned", "applied", "unchanged", "skipped", "failed")
                        if counts.get(k))
    head = f" (head {result.audit_head[:16]}…)" if result.audit_head else ""
    if result.rate_used:
        verb = "counted" if args.apply else "would count"
        write(f"rate limit: {result.rate_used} disruptive action(s) {verb} against the budget\n")
    write(f"\n{result.alerts} alert(s), {result.matched} matched a playbook rule: "
          f"{summary or 'no actions'}; audit trail {audit_path}{head}\n")
