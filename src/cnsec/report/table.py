"""The terminal view (rich): short, sorted worst first."""

from __future__ import annotations

import io

from cnsec.model.report import Report

SEV_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}
MAX_ROWS = 200
MAX_NOTES = 20  # input errors and skipped inputs listed; the rest counted


def render(report: Report, *, color: bool = False, width: int | None = None) -> str:
    from rich.console import Console
    from rich.table import Table

    from cnsec.report.notices import notes
    from cnsec.report.safe import one_line, rich_text

    buf = io.StringIO()
    console = Console(file=buf, force_terminal=color, no_color=not color, width=width or 140,
                      highlight=False)
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
