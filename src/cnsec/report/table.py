"""The terminal view (rich): short, sorted worst first, as wide as the window (long cells fold)."""

from __future__ import annotations

import io
from typing import IO, TYPE_CHECKING

from cnsec.model.report import Report

if TYPE_CHECKING:
    from rich.console import Console

SEV_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}
MAX_ROWS = 200
MAX_NOTES = 20  # input errors and skipped inputs listed; the rest counted


def make_console(file: IO[str] | None = None, *, color: bool, width: int | None) -> Console:
    """A rich console that writes no escape code at all without ``color`` (rich's own ``no_color``
    still writes bold and dim) and folds to ``width`` (default :data:`~cnsec.report.console.FILE_WIDTH`)."""
    from rich.console import Console

    from cnsec.report.console import FILE_WIDTH

    return Console(file=file, force_terminal=color, color_system="auto" if color else None,
                   width=width or FILE_WIDTH, highlight=False)


def render(report: Report, *, color: bool = False, width: int | None = None) -> str:
    from rich.table import Table

    from cnsec.report.notices import notes
    from cnsec.report.safe import one_line, rich_text

    buf = io.StringIO()
    console = make_console(buf, color=color, width=width)
    s = report.summary()
    if report.kind == "assessment" and report.risks:
        console.print("Why a score? -f json or -f markdown explain each one (see docs/risk.md).")
        risks = Table(title="Risk register (top 15)", title_justify="left")
        for col in ("score", "level", "asset", "threat", "likelihood x impact", "findings"):
            risks.add_column(col, overflow="fold")
        for r in report.risks[:15]:
            risks.add_row(str(r.score), r.level, rich_text(r.asset_id), r.threat_id,
                          f"{r.likelihood:.2f} x {r.impact:.2f}", str(len(r.finding_ids)))
        console.print(risks)
    # a secret's occurrences (same fingerprint) stay together, in line order
    active = sorted(report.active(), key=lambda f: (-f.severity, f.check_id, f.asset_id,
                                                    str(f.attrs.get("fingerprint", ""))))
    table = Table(title=f"Findings ({len(active)})", title_justify="left")
    for col in ("severity", "check", "title", "asset", "location"):
        table.add_column(col, overflow="fold")
    for f in active[:MAX_ROWS]:
        table.add_row(f"[{SEV_STYLE[f.severity.label]}]{f.severity.label}[/]", f.check_id, f.title,
                      rich_text(f.asset_id), rich_text(f.source))
    console.print(table)
    if len(active) > MAX_ROWS:
        console.print(f"… {len(active) - MAX_ROWS} more (use -f json or -f markdown for all)")
    if report.kind == "assessment" and report.plan:
        plan = Table(title="Mitigation plan (top 10)", title_justify="left")
        for col in ("rank", "control", "action", "closes", "risk removed"):
            plan.add_column(col, overflow="fold")
        for p in report.plan[:10]:
            plan.add_row(str(p.rank), p.title, p.action, f"{len(p.finding_ids)} findings",
                         str(p.risk_reduction))
        console.print(plan)
    sev = ", ".join(f"{n} {k}" for k, n in s["by_severity"].items() if n) or "no findings"
    extra = f", {s['suppressed']} suppressed" if s["suppressed"] else ""
    skipped = f", {len(report.skipped)} inputs skipped" if report.skipped else ""
    console.print(f"{sev}{extra}; {len(report.errors)} input errors{skipped}")
    for note in notes(report):
        console.print(f"[bold yellow]{rich_text(note)}[/]")
    for label, items in (("[red]error[/]", report.errors), ("[yellow]skipped[/]", report.skipped)):
        for e in items[:MAX_NOTES]:
            console.print(f"{label} {rich_text(one_line(e))}")
        if len(items) > MAX_NOTES:
            console.print(f"… {len(items) - MAX_NOTES} more (use -f json or -f markdown for all)")
    return buf.getvalue()
