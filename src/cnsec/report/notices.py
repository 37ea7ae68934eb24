"""What every format says besides findings, errors and skipped inputs: that a run assessed nothing.
One place, so that the table, Markdown, SARIF and JSON say the same thing."""

from __future__ import annotations

from cnsec.model.report import Report


def nothing_assessed(report: Report) -> str | None:
    """Why an assessment assessed nothing (no resource, Dockerfile or Terraform block), or ``None``.

    A run that read no input would otherwise look like a clean one: no findings, exit code 0.
    """
    if report.kind != "assessment" or report.stats.get("resources", 1) != 0:
        return None
    files = report.stats.get("files", 0)
    if not files:
        why = "no Kubernetes (.yaml, .yml, .json), Dockerfile or Terraform (.tf) input was found"
    else:
        why = f"{files} files read, but no Kubernetes resource, Dockerfile or Terraform block in them"
    extra = []
    if report.skipped:
        extra.append(f"{len(report.skipped)} skipped")
    if report.errors:
        extra.append(f"{len(report.errors)} input errors")
    return f"nothing was assessed: {why}" + (f" ({', '.join(extra)})" if extra else "")
