"""What every format says besides findings, errors and skipped inputs: that a run assessed nothing,
or that inputs were left out on request. One place, so that the table, Markdown, SARIF and JSON say the
same thing."""

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


def notes(report: Report) -> list[str]:
    """Every run-level notice of the report, most important first: :func:`nothing_assessed`, and how
    many input files ``--exclude``/``exclude:`` globs left out (asked for, but never invisible)."""
    out = []
    empty = nothing_assessed(report)
    if empty:
        out.append(empty)
    excluded = report.stats.get("excluded", 0)
    if excluded:
        out.append(f"{excluded} input file{'s' if excluded != 1 else ''} left out by exclude globs")
    return out
