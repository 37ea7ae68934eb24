"""A readable Markdown report: Summary, Assets, Threats, Findings, Risk register, Mitigation plan."""

from __future__ import annotations

import re
from collections import Counter

from cnsec.model.finding import Finding
from cnsec.model.report import Report
from cnsec.report.notices import notes
from cnsec.report.safe import printable

TOP_ITEMS = 10


def _cell(text: object) -> str:
    return printable(text).replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _code(text: object) -> str:
    """An inline code span that input (a resource name, a file name) cannot break out of."""
    return "`" + " ".join(printable(text).replace("`", "'").split("\n")).replace("\r", " ") + "`"


def _plain(text: object) -> str:
    """One line of text from the input, with no Markdown or HTML it could inject."""
    flat = " ".join(printable(text).splitlines())
    return re.sub(r"([\\`*_\[\]<>#|!])", r"\\\1", flat)


def _fence(lines: list[str], lang: str = "") -> list[str]:
    """A fenced block longer than any backtick run inside it, so its content cannot close it."""
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"  {fence}{lang}", *[f"  {printable(line)}" for line in lines], f"  {fence}"]


def _table(headers: list[str], rows: list[list[object]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return out


def render(report: Report) -> str:
    s = report.summary()
    title = {"assessment": "Security assessment", "secrets": "Secret scan",
             "rbac-audit": "Kubernetes RBAC audit"}.get(report.kind, "cnsec report")
    lines = [f"# {title}: {report.target or '.'}", "", "## Summary", ""]
    sev = ", ".join(f"{n} {k}" for k, n in s["by_severity"].items() if n) or "none"
    lines.append(f"- **Findings:** {s['findings']} ({sev}); {s['suppressed']} suppressed")
    if report.kind == "assessment":
        lines.append(f"- **Assets:** {s['assets']}; internet-exposed: "
                     f"{sum(1 for a in report.assets if str(a.exposure) == 'internet')}")
        lv = ", ".join(f"{n} {k}" for k, n in sorted(s["risks_by_level"].items())) or "none"
        lines.append(f"- **Risks:** {s['risks']} ({lv}); highest score {s['max_risk']}/100")
        lines.append(f"- **Mitigation plan:** {len(report.plan)} controls")
    if report.errors:
        lines.append(f"- **Input errors:** {len(report.errors)} (see the end of this report)")
    if report.skipped:
        lines.append(f"- **Skipped inputs:** {len(report.skipped)} (see the end of this report)")
    for note in notes(report):
        lines.append(f"- **Note:** {_plain(note)}")
    lines.append("")

    by_id = {f.id: f for f in report.findings}
    if report.kind == "assessment":
        lines += ["## Assets", ""]
        counts = Counter(f.asset_id for f in report.active())
        rows: list[list[object]] = [
            [_code(a.id), a.type, a.exposure, a.criticality, ", ".join(a.data_classes) or "-",
             counts.get(a.id, 0), f"{a.source}"]
            for a in sorted(report.assets, key=lambda a: (-counts.get(a.id, 0), a.id))
        ]
        lines += _table(["Asset", "Type", "Exposure", "Criticality", "Data", "Findings", "Source"], rows)
        lines += ["", "## Threats", ""]
        tcount = Counter(r.threat_id for r in report.risks)
        lines += _table(
            ["Threat", "STRIDE", "ATT&CK", "Assets at risk"],
            [[f"**{t.name}** (`{t.id}`)", "".join(t.stride), ", ".join(t.attack_ids), tcount.get(t.id, 0)]
             for t in report.threats],
        )
        lines.append("")

    lines += ["## Findings", ""]
    active = sorted(report.active(), key=lambda f: (-f.severity, f.check_id, f.asset_id))
    lines += _table(
        ["Severity", "Check", "Title", "Asset", "Location"],
        [[f.severity.label, f.check_id, f.title, _code(f.asset_id), f"{f.source}"] for f in active],
    )
    suppressed = [f for f in report.findings if f.suppressed]
    if suppressed:
        lines += ["", "### Suppressed", ""]
        lines += _table(["Check", "Asset", "Reason"],
                        [[f.check_id, _code(f.asset_id), f.suppression_reason or ""] for f in suppressed])
    lines.append("")

    if report.kind == "assessment":
        lines += ["## Risk register", ""]
        lines += _table(
            ["Score", "Level", "Asset", "Threat", "Findings", "Why"],
            [[r.score, r.level, _code(r.asset_id), r.threat_id, len(r.finding_ids), r.explanation]
             for r in report.risks],
        )
        lines += ["", "## Mitigation plan", ""]
        for item in report.plan:
            lines.append(f"### {item.rank}. {item.title} (`{item.control_id}`)")
            lines.append("")
            lines.append(f"{item.action}")
            lines.append("")
            lines.append(f"Removes **{item.risk_reduction}** points of risk; closes "
                         f"{len(item.finding_ids)} findings.")
            lines.append("")
            if item.rank <= TOP_ITEMS:
                lines += _top_item_details(item.finding_ids, by_id, item.patches)
        lines.append("")

    if report.errors:
        lines += ["## Input errors", ""]
        lines += [f"- {_code(e)}" for e in report.errors]
        lines.append("")
    if report.skipped:
        lines += ["## Skipped inputs", ""]
        lines += [f"- {_code(e)}" for e in report.skipped]
        lines.append("")
    return "\n".join(lines) + "\n"


def _top_item_details(finding_ids: tuple[str, ...], by_id: dict[str, Finding],
                      patches: list[dict[str, object]]) -> list[str]:
    out: list[str] = []
    shown = 0
    for fid in finding_ids:
        f = by_id.get(fid)
        if f is None or shown >= 3:
            continue
        shown += 1
        out.append(f"- **{f.check_id}** {_plain(f.message)} — {_code(f.source)}")
        if f.snippet:
            out += ["", *_fence(f.snippet.splitlines())]
    for p in patches[:2]:
        file = str(p.get("file", ""))
        lang = "yaml" if "patch" in p else ("hcl" if file.endswith(".tf") else (
            "dockerfile" if "dockerfile" in file.lower() else "yaml"))
        out += ["", f"  Fix for {_code(p.get('asset_id'))} ({_code(file)}):", ""]
        out += _fence(str(p.get("yaml", "")).splitlines(), lang)
    if len(finding_ids) > shown:
        out.append(f"- … and {len(finding_ids) - shown} more findings")
    out.append("")
    return out
