"""``cnsec threats`` (the catalog) and ``cnsec correlate`` (signs correlated into threats)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

FAIL_ON = ("critical", "high", "medium", "low", "info", "none")


def add_run_options(p: argparse.ArgumentParser) -> None:
    """Options shared with ``cnsec detect --threats``."""
    p.add_argument("--state", metavar="FILE",
                   help="keep learned baselines in FILE across runs (read at start, written atomically)")
    from cnsec.detect.correlate import DEFAULT_LATENESS, MAX_LATENESS

    p.add_argument("--lateness", type=float, default=DEFAULT_LATENESS, metavar="SECONDS",
                   help=f"how far out of time order records may arrive within a file, 0 to {MAX_LATENESS:g} "
                        f"(default {DEFAULT_LATENESS:g})")
    p.add_argument("--max-keys", type=int, default=100_000, metavar="N",
                   help="live keys kept per sign and rule; the least recently used are evicted (counted)")
    p.add_argument("--config", metavar="FILE",
                   help=".cnsec.yaml whose detect.metrics maps metric names to sign inputs "
                        "(default: the nearest .cnsec.yaml from the inputs, or the current directory, "
                        "up to the repository root)")


def register(sub: Any) -> None:
    t = sub.add_parser("threats", help="the threat catalog: threats, their signs and detection rules")
    ts = t.add_subparsers(dest="threats_command", metavar="ACTION")
    t.set_defaults(func=lambda a: (t.print_help(), 2)[1])
    ls = ts.add_parser("list", help="threats, rules (signs, window, key, action) and signs")
    ls.add_argument("--threats", action="append", metavar="FILE",
                    help="a catalog file instead of the bundled one; repeatable")
    ls.add_argument("-f", "--format", choices=("table", "json"), default="table")
    ls.set_defaults(func=_list)

    c = sub.add_parser(
        "correlate", help="correlate signs from metrics, access logs and audit logs into threats",
        description="Signs (detection-rule matches, record conditions, metric conditions over windows with "
                    "learned baselines) correlated per key in time windows into threat alerts that name "
                    "the response action (feed them to `cnsec respond`).")
    c.add_argument("inputs", nargs="+", metavar="FILE",
                   help="metric samples (JSON lines, Prometheus text snapshots, Prometheus query_range JSON, "
                        "OTLP JSON), access logs, IAM/Kubernetes/cloud audit logs")
    c.add_argument("--threats", action="append", metavar="FILE",
                   help="threat catalog (YAML) or Sigma correlation rules; default: the bundled catalog")
    c.add_argument("--rules", action="append", default=[], metavar="PATH",
                   help="extra detection rules that signs may name; repeatable")
    add_run_options(c)
    c.add_argument("--follow", action="store_true", help="keep reading one growing file (tail -F)")
    c.add_argument("--idle-exit", type=float, default=None, metavar="SECONDS",
                   help="with --follow: stop after this many seconds without new data")
    c.add_argument("-f", "--format", choices=("table", "jsonl", "json"), default=None,
                   help="output format (default: table on a terminal, jsonl otherwise)")
    c.add_argument("-o", "--output", metavar="FILE", help="write alerts to FILE (atomically)")
    c.add_argument("--fail-on", choices=FAIL_ON, default="high",
                   help="exit 1 if an alert is at or above this severity (default: high)")
    c.set_defaults(func=correlate)


def _rule_dict(r: Any) -> dict[str, Any]:
    return {"id": r.id, "title": r.title, "severity": r.severity.label, "mode": r.mode,
            "n": getattr(r, "n", None), "signs": list(r.signs), "within_seconds": r.window,
            "by": getattr(r, "group_by", None), "action": r.action}


def _list(args: argparse.Namespace) -> int:
    import json

    from cnsec.detect.correlate.catalog import Catalog, load_catalog
    from cnsec.detect.correlate.signs import WindowSign

    cat = Catalog()
    for path in args.threats or [None]:
        cat.extend(load_catalog(path))
    if args.format == "json":
        doc = {
            "threats": [{"id": t.id, "name": t.name, "severity": t.severity.label,
                         "attack_ids": list(t.attack_ids), "description": t.description,
                         "rules": [_rule_dict(r) for r in t.rules]} for t in cat.threats],
            "signs": [{"id": s.id, "description": s.description,
                       "kind": "window" if isinstance(s, WindowSign) else "event",
                       "condition": s.describe(), "rules": list(s.rule_ids),
                       "input": getattr(s, "field", None), "input_kinds": list(s.input_kinds()),
                       "reads": s.reads()} for s in cat.signs.values()],
        }
        print(json.dumps(doc, indent=2))
        return 0
    for t in cat.threats:
        print(f"{t.id}  [{t.severity.label}]  {t.name}  ATT&CK: {', '.join(t.attack_ids) or '-'}")
        for r in t.rules:
            head = f"{r.mode}" + (f" {r.n}" if r.mode == "n_of" else "")
            by = getattr(r, "group_by", None) or "-"
            print(f"  {r.id}: {head} of [{', '.join(r.signs)}] within {r.window:g}s by {by} "
                  f"-> {r.action or '-'} ({r.severity.label})")
    print("\nsigns:")
    for s in cat.signs.values():
        print(f"  {s.id}: {s.describe()}")
        print(f"      reads {s.reads()}")
    print(f"\n{len(cat.threats)} threats, {len(cat.rules)} rules, {len(cat.signs)} signs")
    return 0


#: threat, rule, key, action and time at full width; a narrower window shrinks them (ellipsis).
_WIDE = (20, 32, 28, 14, 44)
_FIXED = 8 + 1 + 1 + 1 + 1 + 1 + 5 + 2  # severity, count and the spaces between


def _table_row(a: Any, width: int | None = None) -> str:
    """Keys come from the logs (an IP, a user name): escapes are shown (one line), never sent to the
    terminal. Fits ``width`` (default: the window's)."""
    from cnsec.detect.correlate.signs import iso
    from cnsec.report.console import fit, fit_widths
    from cnsec.report.safe import one_line

    cells = (a.threat_id or "-", a.rule_id, a.key, a.action or "-", f"{iso(a.first_seen)} .. {iso(a.last_seen)}")
    w = fit_widths(_WIDE, _FIXED, width)
    text = [f"{fit(one_line(c), n):<{n}}" for c, n in zip(cells, w)]
    return f"{a.severity.label:<8} {text[0]} {text[1]} {text[2]} {text[3]} {a.count:>5}  {text[4]}".rstrip()


def _table_head(width: int | None = None) -> str:
    from cnsec.report.console import fit_widths

    w = fit_widths(_WIDE, _FIXED, width)
    return (f"{'SEVERITY':<8} {'THREAT':<{w[0]}} {'RULE':<{w[1]}} {'KEY':<{w[2]}} {'ACTION':<{w[3]}} "
            f"{'COUNT':>5}  TIME")


def _writable(alert: Any) -> dict[str, Any]:
    """The alert as jsonl writes it, its evidence cut at :data:`~cnsec.detect.fields.EVIDENCE_DEPTH`
    levels (the JSON writer would give up on a hostile event, and the alert is still due); evidence
    within that depth is copied unchanged."""
    from cnsec.detect.alerts import alert_dict
    from cnsec.detect.fields import limit_depth

    d = alert_dict(alert)
    d["evidence"] = limit_depth(d["evidence"])
    return d


def correlate(args: argparse.Namespace) -> int:
    """Run the correlation (also the handler of ``cnsec detect --threats``)."""
    import json

    from cnsec.detect.cli import write_alerts
    from cnsec.detect.correlate import check_lateness
    from cnsec.detect.correlate.run import run, run_follow
    from cnsec.errors import UsageError

    if args.max_keys < 1:
        raise UsageError("--max-keys must be at least 1")
    check_lateness(args.lateness)
    fmt = args.format or ("table" if (args.output is None and sys.stdout.isatty()) else "jsonl")
    if fmt not in ("table", "jsonl", "json"):
        fmt = "jsonl"
    threats = getattr(args, "threats", None)
    if isinstance(threats, str):
        threats = [threats]
    from cnsec.detect.correlate.metrics import load_mappings

    common: dict[str, Any] = dict(state=args.state, lateness=args.lateness, max_keys=args.max_keys,
                                  rules_paths=getattr(args, "rules", None) or None,
                                  default_rules=not getattr(args, "no_default_rules", False),
                                  mappings=load_mappings(getattr(args, "config", None), args.inputs))
    if getattr(args, "follow", False):
        if len(args.inputs) != 1 or args.inputs[0] == "-":
            raise UsageError("--follow takes exactly one file")
        if args.output:
            raise UsageError("--follow writes to stdout; redirect it instead of -o")

        def live(a: Any) -> None:
            sys.stdout.write(_table_row(a) + "\n" if fmt == "table" else json.dumps(_writable(a)) + "\n")
            sys.stdout.flush()
        result = run_follow(args.inputs[0], threats, idle_exit=args.idle_exit, on_alert=live, **common)
        _report(result)
        return _exit(result, args.fail_on)
    from cnsec.detect.sources import expand_inputs

    result = run(expand_inputs(args.inputs), threats, **common)
    alerts = result.alerts
    if fmt == "jsonl":
        text = "".join(json.dumps(_writable(a), sort_keys=False) + "\n" for a in alerts)
    elif fmt == "json":
        text = json.dumps({"alerts": [_writable(a) for a in alerts], "stats": result.stats,
                           "errors": [p.to_dict() for p in result.problems],
                           "inputs_failed": [{"file": f, "reason": r} for f, r in result.failed.items()],
                           "signs_without_input": result.idle_signs}, indent=2) + "\n"
    else:
        import textwrap

        from cnsec.report.console import FILE_WIDTH, width
        from cnsec.report.safe import printable

        room = FILE_WIDTH if args.output else width()
        lines = [_table_head(room)] + [_table_row(a, room) for a in alerts]
        s = result.stats
        lines.append(f"\n{len(alerts)} alerts from {s['records']} records ({s['events']} read, "
                     f"{s['malformed']} malformed, {s['late']} late); live keys {s['live_keys']}, "
                     f"evicted {s['evicted']}")
        lines += [f"input not read: {printable(f)}: {printable(r)}" for f, r in result.failed.items()]
        lines += [f"no input for {', '.join(ids)}: {'they read' if len(ids) > 1 else 'it reads'} {what}"
                  for what, ids in _idle_groups(result)]
        lines += [f"metric not read: {printable(m)}: {why}" for m, why in s.get("metrics_not_read", {}).items()]
        text = "\n".join(w for line in lines for part in line.split("\n")
                          for w in (textwrap.wrap(part, room) or [""])) + "\n"
    write_alerts(text, args.output)
    _report(result)
    return _exit(result, args.fail_on)


def _exit(result: Any, fail_on: str) -> int:
    """2 when an input was lost (the alerts are still written), else 1 for an alert at ``fail_on``."""
    from cnsec.detect.cli import exit_code

    return 2 if result.failed else exit_code(result.alerts, fail_on)


def _idle_groups(result: Any) -> list[tuple[str, list[str]]]:
    """Signs without input grouped by what they read (one line per kind of input missing; ``cnsec
    threats list`` and ``-f json`` say in full what feeds each)."""
    groups: dict[str, list[str]] = {}
    for d in result.idle_signs:
        groups.setdefault(d["input"], []).append(d["sign"])
    return list(groups.items())


def _report(result: Any) -> None:
    from cnsec.report.console import note
    from cnsec.report.safe import printable

    for w in result.warnings:
        note(f"warning: {printable(w)}")
    for p in result.problems:
        print(f"cnsec: {printable(p)}", file=sys.stderr)
    for what, ids in _idle_groups(result):
        note(f"note: no input for sign{'s' if len(ids) > 1 else ''} {', '.join(ids)}: "
             f"{'they read' if len(ids) > 1 else 'it reads'} {what}")
    s = result.stats
    for metric, why in s.get("metrics_not_read", {}).items():
        note(f"note: metric {printable(metric)} not read: {why}")
    if s.get("malformed"):
        print(f"cnsec: {s['malformed']} malformed lines skipped", file=sys.stderr)
    if s.get("late"):
        print(f"cnsec: {s['late']} records later than --lateness skipped", file=sys.stderr)
    if s.get("evicted"):
        print(f"cnsec: {s['evicted']} keys evicted (--max-keys {s.get('max_keys', '')}): "
              + ", ".join(f"{k}={v}" for k, v in s["evictions"].items()), file=sys.stderr)
