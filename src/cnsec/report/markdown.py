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

    if report.kind == "assessment" and isinstance(report.stats.get("images"), dict):
        lines += _vulnerabilities(report)

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


def severity_text(f: Finding) -> str:
    """A vulnerability's severity, saying so when the advisory (and its aliases) gave none."""
    if f.attrs.get("severity_source") in ("none", "unscorable"):
        return f"unknown (ranked {f.severity.label})"
    return f.severity.label


def _vulnerabilities(report: Report) -> list[str]:
    """``assess --images``: the images read, and each vulnerability once per image with the workloads
    that run it and the worst exploitability among them (the findings table lists every copy)."""
    images = report.stats["images"]
    assets = {a.id: a for a in report.assets}
    kev = sum(1 for f in report.findings if f.asset_id == f.attrs.get("image") and f.attrs.get("kev"))
    out = ["## Vulnerabilities", "",
           f"{images.get('vulnerabilities', 0)} known vulnerabilities in {images.get('given', 0)} images "
           f"({kev} known exploited); {images.get('workload_images_not_given', 0)} workload images were not "
           "given (see the skipped inputs).", ""]
    out += _table(["Image", "File", "Packages", "Vulnerabilities", "Runs in"],
                  [[_code(i["asset_id"]), _code(i["file"]), i["packages"], i["vulnerabilities"],
                    ", ".join(_code(w) for w in i["workloads"]) or "no workload"] for i in images.get("images", ())])
    worst: dict[tuple[str, str, str], float] = {}
    for f in report.findings:
        if "image" in f.attrs and f.asset_id != f.attrs["image"]:
            key = (str(f.attrs["image"]), f.check_id, str(f.attrs.get("purl")))
            worst[key] = max(worst.get(key, 0.0), float(f.attrs.get("exploitability", 0.0)))
    rows: list[list[object]] = []
    on_images = [f for f in report.findings if f.asset_id == f.attrs.get("image")]
    for f in sorted(on_images, key=lambda f: (-worst.get((f.asset_id, f.check_id, str(f.attrs.get("purl"))),
                                                         f.attrs.get("exploitability", 0.0)), -f.severity,
                                              f.asset_id, f.check_id)):
        a = assets.get(f.asset_id)
        epss = f.attrs.get("epss")
        key = (f.asset_id, f.check_id, str(f.attrs.get("purl")))
        rows.append([severity_text(f), f.check_id, f.attrs.get("package"), f.attrs.get("installed_version"),
                     f.attrs.get("fixed_version") or "none published",
                     "KEV" if f.attrs.get("kev") else "-", f"{epss['score']:.3f}" if epss else "-",
                     _code(f.asset_id), len(a.attrs.get("workloads", ())) if a else 0,
                     f"{worst[key]:.2f}" if key in worst else "-",
                     "suppressed" if f.suppressed else "open"])
    out += ["", *_table(["Severity", "Advisory", "Package", "Installed", "Fixed in", "Exploited", "EPSS", "Image",
                         "Workloads", "Worst exploitability", "Status"], rows), ""]
    return out
