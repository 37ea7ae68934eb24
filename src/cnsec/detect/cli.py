"""``cnsec detect`` and ``cnsec rules``: argument parsing only; the work is in engine/rules/sources."""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any

FORMATS = ("table", "json", "jsonl", "markdown")
FAIL_ON = ("critical", "high", "medium", "low", "info", "none")


def register(sub: Any) -> None:
    p = sub.add_parser(
        "detect", help="detect threats in audit logs (Kubernetes, CloudTrail, GCP, Falco, JSON)",
        description="Run detection rules (bundled, Sigma, native YAML, Python) over event logs.")
    p.add_argument("inputs", nargs="*", metavar="FILE",
                   help="log files, directories or - for stdin (gzip is recognised; default: stdin, "
                        "unless it is a terminal)")
    p.add_argument("--rules", action="append", default=[], metavar="PATH",
                   help="add rules from PATH (Sigma, native YAML, Python); repeatable")
    p.add_argument("--no-default-rules", action="store_true", help="do not load the bundled content pack")
    p.add_argument("--source", choices=("k8s-audit", "cloudtrail", "gcp-audit", "falco", "json"),
                   help="the input's source (default: detected from the content)")
    p.add_argument("--map", action="append", default=[], metavar="FIELD=PATH",
                   help="for --source json: map a rule field to a path in your events; repeatable")
    p.add_argument("--follow", action="store_true", help="keep reading the file as it grows (tail -F)")
    p.add_argument("--idle-exit", type=float, default=None, metavar="SECONDS",
                   help="with --follow: stop after this many seconds without new data")
    p.add_argument("--window", type=float, default=300.0, metavar="SECONDS",
                   help="fold repeats of an alert (same rule and key) within this window (default 300)")
    p.add_argument("--max-evidence", type=int, default=5, metavar="N",
                   help="events kept per alert (default 5)")
    p.add_argument("--min-severity", choices=FAIL_ON[:-1], default="info",
                   help="report alerts at or above this")
    p.add_argument("--no-prefilter", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("-f", "--format", choices=FORMATS, default=None,
                   help="output format (default: table on a terminal, jsonl otherwise)")
    p.add_argument("-o", "--output", metavar="FILE", help="write alerts to FILE (atomically)")
    p.add_argument("--fail-on", choices=FAIL_ON, default="high",
                   help="exit 1 if an alert is at or above this severity (default: high)")
    from cnsec.detect.correlate.cli import add_run_options

    p.add_argument("--threats", action="append", nargs="?", const="bundled", metavar="FILE",
                   help="correlate signs into threats (a threat catalog or Sigma correlation rules; "
                        "no FILE: the bundled catalog): see `cnsec correlate`")
    add_run_options(p)
    b = p.add_argument_group("the bus (NATS JetStream: detection spread over workers; docs/scale.md)")
    b.add_argument("--bus", metavar="URL", help="the NATS server with JetStream (nats://host:4222)")
    b.add_argument("--worker", action="store_true", help="with --bus: work partitions of the bus until stopped")
    b.add_argument("--publish", action="store_true", help="with --bus: publish FILE... to the bus")
    b.add_argument("--replay", action="store_true",
                   help="with --bus: run the rules over the events the bus keeps; alerts as without --bus")
    b.add_argument("--since", metavar="DATE",
                   help="with --replay: only events stored at or after DATE (RFC 3339 or YYYY-MM-DD, UTC)")
    b.add_argument("--partitions", type=int, default=16, metavar="N",
                   help="partitions of a bus created now (default 16; an existing bus keeps its own)")
    p.set_defaults(func=_detect, usage=p.format_usage)

    r = sub.add_parser("rules", help="list, test and check detection rules")
    rs = r.add_subparsers(dest="rules_command", metavar="ACTION")
    r.set_defaults(func=lambda a: (r.print_help(), 2)[1])
    ls = rs.add_parser("list", help="bundled and loaded rules: id, title, severity, ATT&CK")
    ls.add_argument("paths", nargs="*", metavar="PATH", help="extra rule files or directories")
    ls.add_argument("--no-default-rules", action="store_true")
    ls.add_argument("-f", "--format", choices=("table", "json"), default="table")
    ls.set_defaults(func=_rules_list)
    ts = rs.add_parser("test", help="run each rule's example events (default: the bundled pack)")
    ts.add_argument("paths", nargs="*", metavar="PATH")
    ts.add_argument("-f", "--format", choices=("table", "json"), default="table")
    ts.set_defaults(func=_rules_test)
    cs = rs.add_parser("check", help="load rules and report every one that fails, with the reason")
    cs.add_argument("paths", nargs="+", metavar="PATH")
    cs.add_argument("-f", "--format", choices=("table", "json"), default="table")
    cs.set_defaults(func=_rules_check)


def _load(paths: list[str], defaults: bool) -> Any:
    """The bundled pack (``defaults``) and the rules under ``paths``; ``user_rules`` on the result
    counts the latter."""
    import gc

    from cnsec.detect.rules import LoadResult, bundled, check_unique, load_paths

    # loading builds many objects that all stay alive (parsed YAML, pySigma trees, compiled
    # closures): the cyclic collector would only scan them over and over meanwhile
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        result = LoadResult()
        if defaults:
            result.extend(bundled())
        user = load_paths(paths) if paths else LoadResult()
        result.extend(user)
        result.user_rules = len(user.rules)
        check_unique(result.rules)
    finally:
        if was_enabled:
            gc.enable()
    return result


def _detect(args: argparse.Namespace) -> int:
    if args.bus or args.worker or args.publish or args.replay or args.since:
        from cnsec.detect.bus_adapter import run_bus

        return run_bus(args)
    if not args.inputs:
        if sys.stdin.isatty():  # nobody is going to type audit events: say how to give them
            sys.stderr.write(args.usage())
            print("cnsec: detect: no input: give log files or directories, or pipe events on stdin "
                  "(e.g. kubectl logs … | cnsec detect)", file=sys.stderr)
            return 2
        args.inputs = ["-"]
    if args.threats:
        from cnsec.detect.correlate.cli import correlate

        return correlate(args)
    from cnsec.detect.alerts import AlertBook
    from cnsec.detect.engine import Engine, Match
    from cnsec.detect.normalize import SOURCES
    from cnsec.detect.render import jsonl_line, table_row
    from cnsec.detect.sources import expand_inputs
    from cnsec.errors import UsageError
    from cnsec.model.finding import InputProblem
    from cnsec.model.severity import Severity
    from cnsec.report.safe import one_line

    for spec in args.map:
        if "=" not in spec:
            raise UsageError(f"--map expects FIELD=PATH, got {spec!r}")
        k, v = spec.split("=", 1)
        SOURCES["json"].field_map[k.strip()] = v.strip()
    loaded = _load(args.rules, not args.no_default_rules)
    for f in loaded.failures:
        print(f"cnsec: rule not loaded: {one_line(f.path)}: {one_line(f.reason)}", file=sys.stderr)
    if not loaded.rules:
        raise UsageError("no rules loaded")
    if args.rules and not loaded.user_rules:
        # the user's own rules were the point of --rules: the bundled pack alone would pass for a
        # clean run of them
        raise UsageError(f"no rule loaded from --rules {' '.join(args.rules)} "
                         f"({len(loaded.failures)} failed to load)")
    min_sev = Severity.parse(args.min_severity)
    rules = [r for r in loaded.rules if r.severity >= min_sev]
    engine = Engine(rules, prefilter=not args.no_prefilter)
    book = AlertBook(window=args.window, max_evidence=max(1, args.max_evidence))
    fmt = args.format or ("table" if (args.output is None and sys.stdout.isatty()) else "jsonl")
    skipped: list[InputProblem] = []
    inputs = expand_inputs(args.inputs, skipped)
    for problem in skipped:
        engine.stats.note(problem.file, problem.line, problem.message)

    if args.follow:
        if len(inputs) != 1 or inputs[0] == "-":
            raise UsageError("--follow takes exactly one file")
        if args.output:
            raise UsageError("--follow writes to stdout; redirect it instead of -o")
        from cnsec.detect.sources.follow import follow

        def show(alert: Any) -> None:
            sys.stdout.write(table_row(alert) + "\n" if fmt == "table" else jsonl_line(alert))

        def repeats() -> None:
            # an alert is shown when it opens; when its window closes with more hits, again with
            # the final count (nothing silently dropped)
            for alert in book.take_closed():
                if alert.count > 1:
                    show(alert)

        def live(match: Match) -> None:
            alert = book.add(match)
            repeats()
            if alert is not None:
                show(alert)
            sys.stdout.flush()

        def idle() -> None:
            book.close_expired(book.last_time)
            repeats()
            sys.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            engine.scan_chunks(follow(inputs[0], idle_exit=args.idle_exit, on_idle=idle),
                               inputs[0], args.source, live)
        book.close_expired(float("inf"))
        repeats()
        sys.stdout.flush()
        _report_problems(engine)
        return _exit(engine, exit_code(book.alerts(), args.fail_on))

    from cnsec.cli import skip_teardown

    # the rules, their indexes and the evidence of open alerts need no freeing one by one at exit
    skip_teardown(engine, book, loaded)
    from cnsec.report.console import Progress

    progress = Progress("events")  # on a terminal's stderr only; never with --follow (that never ends)
    if progress.enabled:
        engine.on_lines = progress.advance
    try:
        return _detect_all(args, engine, book, inputs, loaded, rules, fmt, progress)
    finally:
        progress.close()


def _detect_all(args: argparse.Namespace, engine: Any, book: Any, inputs: list[str], loaded: Any,
                rules: list[Any], fmt: str, progress: Any) -> int:
    """Every input scanned to the end, then the alerts written (or streamed, as jsonl)."""
    from cnsec.detect.render import render_json, render_markdown, render_table

    if fmt == "jsonl":  # streamed: closed alerts are written as the input's time moves on
        return _detect_jsonl(args, engine, book, inputs, loaded)

    sources: dict[str, str] = {}
    for path in inputs:
        unreadable = engine.stats.unreadable
        src = engine.scan_file(path, args.source, book.add_event)
        sources[path] = src or ("unreadable" if engine.stats.unreadable > unreadable else "empty")
    progress.close()  # before the table: the line is not left between rows
    alerts = book.alerts()
    stats: dict[str, Any] = {**engine.stats.to_dict(), "rules": len(rules), "alerts": len(alerts),
                             "hits": book.hits, "inputs": sources,
                             "rules_failed": len(loaded.failures)}
    errors = [p.to_dict() for p in engine.stats.problems]
    if fmt == "json":
        text = render_json(alerts, stats, errors)
    elif fmt == "markdown":
        text = render_markdown(alerts, stats)
    else:
        from cnsec.report.console import FILE_WIDTH

        text = render_table(alerts, stats, FILE_WIDTH if args.output else None)
    write_alerts(text, args.output)
    _report_problems(engine)
    return _exit(engine, exit_code(alerts, args.fail_on))


def _detect_jsonl(args: argparse.Namespace, engine: Any, book: Any, inputs: list[str], loaded: Any) -> int:
    """jsonl output, streamed: memory is bounded by the alerts still open, not by the input size."""
    from cnsec.detect.render import jsonl_bytes, jsonl_line

    worst: list[Any] = []

    def run(out: Any, binary: bool) -> None:
        def flush(alerts: list[Any]) -> None:
            if not alerts:
                return
            top = max(a.severity for a in alerts)
            if not worst or top > worst[0]:
                worst[:] = [top]
            # one write per batch: alerts with their evidence run to kilobytes each, and a write
            # per alert through the file's small buffer meant a system call every few alerts
            for start in range(0, len(alerts), 256):
                batch = alerts[start:start + 256]
                out.write(b"".join(map(jsonl_bytes, batch)) if binary else "".join(map(jsonl_line, batch)))

        def close() -> None:
            book.close_expired(book.last_time)
            flush(book.take_closed())

        book.every(2000, close)  # every 2000 hits, alerts whose window has passed are written out
        for path in inputs:
            engine.scan_file(path, args.source, book.add_event)
        flush(book.alerts())

    if args.output:
        from cnsec.errors import UsageError
        from cnsec.fsutil import atomic_writer
        from cnsec.model.source import Source

        try:
            with atomic_writer(args.output, "wb") as handle:
                run(handle, True)
        except OSError as exc:
            raise UsageError(f"cannot write alerts: {exc.strerror}", Source(args.output)) from None
    else:
        run(sys.stdout, False)
        sys.stdout.flush()
    _report_problems(engine)
    if args.fail_on == "none" or not worst:
        return _exit(engine, 0)
    from cnsec.model.severity import Severity

    return _exit(engine, 1 if worst[0] >= Severity.parse(args.fail_on) else 0)


def _exit(engine: Any, code: int) -> int:
    """An input that could not be opened makes the run exit 2, after the others were scanned and
    their alerts written (as ``cnsec assess`` does)."""
    if engine.stats.unreadable:
        print(f"cnsec: {engine.stats.unreadable} input(s) could not be read", file=sys.stderr)
        return 2
    return code


def _report_problems(engine: Any) -> None:
    from cnsec.report.safe import one_line

    stats = engine.stats
    for p in stats.problems:
        print(f"cnsec: {one_line(p)}", file=sys.stderr)
    if stats.malformed > len(stats.problems):
        print(f"cnsec: ... {stats.malformed - len(stats.problems)} more malformed lines", file=sys.stderr)
    if stats.malformed:
        print(f"cnsec: {stats.malformed} malformed lines skipped", file=sys.stderr)


def write_alerts(text: str, output: str | None) -> None:
    """Alerts to FILE (atomically: no half-written file) or stdout; shared with ``cnsec correlate``."""
    if output:
        from cnsec.errors import UsageError
        from cnsec.fsutil import atomic_write_text
        from cnsec.model.source import Source

        try:
            atomic_write_text(output, text)
        except OSError as exc:
            raise UsageError(f"cannot write alerts: {exc.strerror}", Source(output)) from None
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


def exit_code(alerts: list[Any], fail_on: str) -> int:
    if fail_on == "none":
        return 0
    from cnsec.model.severity import Severity

    threshold = Severity.parse(fail_on)
    return 1 if any(a.severity >= threshold for a in alerts) else 0


def _rules_list(args: argparse.Namespace) -> int:
    import json

    loaded = _load(args.paths, not args.no_default_rules)
    rules = sorted(loaded.rules, key=lambda r: r.id)
    if args.format == "json":
        print(json.dumps({"rules": [r.to_dict() for r in rules],
                          "failed": [f.to_dict() for f in loaded.failures]}, indent=2))
        return 0
    from cnsec.report.console import fit, fit_widths, width
    from cnsec.report.safe import one_line

    # rule files are input: their text reaches the terminal escaped, like any other input; the
    # ATT&CK and title columns shrink to the window (cut with an ellipsis), the id only when the
    # window is narrower still
    iw = min(max((len(one_line(r.id)) for r in rules), default=2), 38)
    aw, tw = fit_widths((22, max((len(one_line(r.title)) for r in rules), default=5)), 8 + 10 + 4 + iw)
    iw = min(iw, max(4, width() - 8 - 10 - 4 - aw - tw))
    print(f"{'ID':<{iw}} {'SEVERITY':<8} {'SOURCE':<10} {'ATT&CK':<{aw}} TITLE")
    for r in rules:
        attack = fit(one_line(",".join(r.attack_ids)), aw)
        print(f"{fit(one_line(r.id), iw):<{iw}} {r.severity.label:<8} {fit(one_line(r.source or '-'), 10):<10} "
              f"{attack:<{aw}} {fit(one_line(r.title), tw)}".rstrip())
    print(f"\n{len(rules)} rules" + (f", {len(loaded.failures)} not loaded" if loaded.failures else ""))
    return 0


def _rules_test(args: argparse.Namespace) -> int:
    import json

    from cnsec.detect.engine import Engine

    loaded = _load(args.paths, not args.paths)
    engine = Engine(loaded.rules)
    results = []
    for rule in sorted(loaded.rules, key=lambda r: r.id):
        for ex in rule.examples:
            via_index = rule.id in {r.id for r in engine.scan_events([ex.event], rule.source or "json")}
            ok = via_index == ex.should_match and bool(rule.match(ex.event)) == ex.should_match
            results.append({"rule_id": rule.id, "example": ex.name, "expected": ex.should_match, "ok": ok,
                            "origin": rule.origin})
    untested = sorted(r.id for r in loaded.rules if not r.examples)
    failed = [r for r in results if not r["ok"]]
    if args.format == "json":
        print(json.dumps({"passed": len(results) - len(failed), "failed": failed, "untested": untested,
                          "not_loaded": [f.to_dict() for f in loaded.failures]}, indent=2))
    else:
        from cnsec.report.safe import one_line

        for r in failed:
            want = "match" if r["expected"] else "no match"
            print(f"FAIL {one_line(r['rule_id'])} {one_line(r['example'])}: expected {want} "
                  f"({one_line(r['origin'])})")
        for f in loaded.failures:
            print(f"NOT LOADED {one_line(f.path)}: {one_line(f.reason)}")
        print(f"{len(results) - len(failed)} passed, {len(failed)} failed, "
              f"{len(untested)} rules without examples, {len(loaded.failures)} not loaded")
    return 1 if failed or loaded.failures else 0


def _rules_check(args: argparse.Namespace) -> int:
    import json

    from cnsec.detect.rules import load_paths

    loaded = load_paths(args.paths)
    notes = [{"path": r.origin, "rule_id": r.id, "note": n} for r in loaded.rules for n in r.notes]
    if args.format == "json":
        print(json.dumps({"loaded": len(loaded.rules), "files": loaded.files,
                          "failed": [f.to_dict() for f in loaded.failures], "notes": notes}, indent=2))
    else:
        from cnsec.report.safe import one_line

        for f in loaded.failures:
            print(f"{one_line(f.path)}: {one_line(f.reason)}")
        for n in notes:
            print(f"{one_line(n['path'])}: rule {one_line(n['rule_id'])}: note: {one_line(n['note'])}")
        total = len(loaded.rules) + len(loaded.failures)
        pct = 100.0 * len(loaded.rules) / total if total else 100.0
        print(f"{len(loaded.rules)} rules loaded, {len(loaded.failures)} failed ({pct:.1f}% loaded)")
    return 1 if loaded.failures else 0
