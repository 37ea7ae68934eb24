"""What every findings command shares: -f/-o, --fail-on, baselines, and the exit code.

Assess, the RBAC audit and the secret scan all go through here, so SARIF, baselines and
``--fail-on`` behave identically everywhere.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from cnsec.report.options import FAIL_ON_CHOICES, add_output_options

if TYPE_CHECKING:
    from cnsec.model.report import Report

__all__ = ["FAIL_ON_CHOICES", "add_output_options", "apply_baseline", "baseline_text", "emit",
           "exit_code", "load_baseline", "output_format", "render"]


def render(report: Report, fmt: str, *, color: bool = False, width: int | None = None) -> str:
    if fmt == "json":
        from cnsec.report import json_report
        return json_report.render(report)
    if fmt == "sarif":
        from cnsec.report import sarif
        return sarif.render(report)
    if fmt == "markdown":
        from cnsec.report import markdown
        return markdown.render(report)
    if fmt == "junit":
        from cnsec.report import junit
        return junit.render(report)
    from cnsec.report import table
    return table.render(report, color=color, width=width)


def load_baseline(path: str) -> set[str]:
    from cnsec.errors import InputError
    from cnsec.model.source import Source

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("baseline file not found", Source(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read baseline: {exc.strerror}", Source(path)) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"baseline is not UTF-8 text (byte {exc.start})", Source(path)) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"baseline is not valid JSON: {exc.msg}", Source(path, exc.lineno)) from None
    except RecursionError:
        raise InputError("baseline is not a cnsec baseline (nested too deeply)", Source(path)) from None
    if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
        raise InputError('baseline must be a JSON object with a "findings" list', Source(path))
    known = set()
    for n, entry in enumerate(data["findings"]):
        if isinstance(entry, dict):
            if not isinstance(entry.get("id"), str):
                raise InputError(f'baseline finding #{n + 1} has no "id" string', Source(path))
            known.add(entry["id"])
        elif isinstance(entry, str):
            known.add(entry)
        else:
            raise InputError(f"baseline finding #{n + 1} must be an object with an id, or an id",
                             Source(path))
    return known


def baseline_text(report: Report) -> str:
    """Only ids (salted hashes for secrets are the finding ids themselves): nothing sensitive."""
    entries = sorted(
        ({"id": f.id, "check_id": f.check_id, "asset_id": f.asset_id} for f in report.findings),
        key=lambda e: e["id"],
    )
    return json.dumps({"schema": "cnsec.baseline/v1", "kind": report.kind, "findings": entries},
                      indent=2) + "\n"


def apply_baseline(report: Report, path: str) -> int:
    known = load_baseline(path)
    before = len(report.findings)
    report.findings = [f for f in report.findings if f.id not in known]
    removed = before - len(report.findings)
    report.stats["baselined"] = removed
    return removed


def exit_code(report: Report, fail_on: str) -> int:
    from cnsec.model.severity import Severity

    if fail_on == "none":
        return 0
    threshold = Severity.parse(fail_on)
    worst = report.worst_active()
    return 1 if worst is not None and worst >= threshold else 0


_BIG_OUTPUT = 4 << 20


def _widen_pipe(stream: object) -> None:
    """A large report into a pipe: ask Linux for a 1 MiB pipe buffer (the default 64 KiB makes
    writer and reader take turns a thousand times for 50 MB). Anything else: leave it as it is."""
    import contextlib
    import os
    import stat

    with contextlib.suppress(ImportError, OSError, ValueError, AttributeError):
        import fcntl  # not on Windows

        fd = stream.fileno()  # type: ignore[attr-defined]
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20)


def output_format(args: argparse.Namespace) -> str:
    """``-f``, else what ``-o``'s name says (.sarif, .md, .xml), else a table on a terminal and JSON elsewhere."""
    fmt: str | None = args.format
    if fmt is None:
        fmt = "table" if (args.output is None and sys.stdout.isatty()) else "json"
        if args.output and args.output.endswith((".sarif", ".sarif.json")):
            fmt = "sarif"
        elif args.output and args.output.endswith(".md"):
            fmt = "markdown"
        elif args.output and args.output.endswith(".xml"):
            fmt = "junit"
    return fmt


def emit(report: Report, args: argparse.Namespace) -> int:
    """Apply baseline options, render, write; return the exit code for ``--fail-on``."""
    from cnsec.errors import UsageError
    from cnsec.fsutil import atomic_write_bytes, atomic_write_text
    from cnsec.model.source import Source
    from cnsec.report.safe import one_line

    if getattr(args, "baseline", None):
        apply_baseline(report, args.baseline)
    if getattr(args, "write_baseline", None):
        try:
            atomic_write_text(args.write_baseline, baseline_text(report))
        except OSError as exc:
            raise UsageError(f"cannot write baseline: {exc.strerror}", Source(args.write_baseline)) from None
    fmt = output_format(args)
    pieces: list[bytes | memoryview]
    if fmt == "json":
        from cnsec.report import json_report

        pieces = json_report.render_pieces(report)  # a large report is not joined into one copy
    else:
        from cnsec.report import console

        to_window = args.output is None  # a file gets neither colour nor the window's width
        pieces = [render(report, fmt, color=to_window and console.color(),
                         width=console.width() if to_window else console.FILE_WIDTH).encode()]
    if args.output:
        try:
            atomic_write_bytes(args.output, pieces)
        except OSError as exc:
            raise UsageError(f"cannot write report: {exc.strerror}", Source(args.output)) from None
    else:
        sys.stdout.flush()
        if sum(len(p) for p in pieces) > _BIG_OUTPUT:
            _widen_pipe(sys.stdout)
        for piece in pieces:
            sys.stdout.buffer.write(piece)
        sys.stdout.buffer.flush()
    from cnsec.report.console import note

    for problem in report.errors:  # one line each: a file name cannot forge lines
        print(f"cnsec: {one_line(problem)}", file=sys.stderr)
    for problem in report.skipped:  # in the report in every format; on stderr unless -q
        note(one_line(problem))
    return exit_code(report, args.fail_on)
