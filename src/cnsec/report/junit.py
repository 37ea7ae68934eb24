"""JUnit XML, for CI systems that show test results (Jenkins, GitLab, Azure Pipelines, CircleCI).

Shaped as Checkov's ``-o junitxml`` is, which those systems' users already read: one test case per
check × resource, named ``[severity][CHECK-ID] title`` (severity lower-case, as everywhere in
cnsec), class name ``file.resource``, a ``failure`` whose message is the finding and whose text
says the resource, the file and line, and the fix; a suppressed finding is a ``skipped`` case
carrying its reason. cnsec records findings, not every check that passed, so a passing check has
no case of its own (Checkov lists passes too).

Nothing is left out silently: unreadable inputs are ``error`` cases and skipped inputs ``skipped``
cases in a second suite, and an assessment that assessed nothing says so as an error case.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from cnsec import __version__
from cnsec.report.notices import nothing_assessed
from cnsec.report.safe import printable

if TYPE_CHECKING:
    from cnsec.model.finding import Finding, InputProblem
    from cnsec.model.report import Report

#: The command each report comes from: the suite's name, as the SARIF category is.
COMMANDS = {"assessment": "assess", "secrets": "data scan", "rbac-audit": "iam audit", "vulns": "vulns"}


def _text(value: object) -> str:
    """XML 1.0 text: control characters shown as escapes (they are not allowed in XML at all), and a
    file name's undecodable bytes as ``\\udcXX`` escapes instead of an encoding error."""
    return printable(value).encode("utf-8", "backslashreplace").decode("utf-8").replace("\ufffe", "\\ufffe") \
        .replace("\uffff", "\\uffff")


def _where(file: str, line: int | None) -> str:
    return f"{file}:{line}" if line else file


def _case(suite: ET.Element, name: str, classname: str, file: str, line: int | None) -> ET.Element:
    attrs = {"name": _text(name), "classname": _text(classname), "file": _text(file), "time": "0"}
    if line:
        attrs["line"] = str(line)
    return ET.SubElement(suite, "testcase", attrs)


def _finding(suite: ET.Element, f: Finding) -> None:
    case = _case(suite, f"[{f.severity.label}][{f.check_id}] {f.title}", f"{f.source.file}.{f.asset_id}",
                 f.source.file, f.source.line)
    if f.suppressed:
        ET.SubElement(case, "skipped", {"message": _text(f"suppressed: {f.suppression_reason or 'no reason given'}")})
        return
    body = [f"Severity: {f.severity.label}", f"Resource: {f.asset_id}", f"File: {_where(f.source.file, f.source.line)}"]
    if f.remediation:
        body.append(f"Fix: {f.remediation}")
    if f.threat_ids:
        body.append(f"Threats: {', '.join(f.threat_ids)}")
    body.append(f"Finding id: {f.id}")
    failure = ET.SubElement(case, "failure", {"message": _text(f.message), "type": f.severity.label})
    failure.text = _text("\n".join(body))


def _problem(suite: ET.Element, problem: InputProblem, kind: str) -> None:
    case = _case(suite, f"{'unreadable' if kind == 'error' else 'skipped'} input: {problem.file}", "cnsec.inputs",
                 problem.file, problem.line)
    ET.SubElement(case, kind, {"message": _text(problem.message), **({"type": "input"} if kind == "error" else {})})


def _counts(suite: ET.Element) -> None:
    cases = suite.findall("testcase")
    for attr, tag in (("failures", "failure"), ("errors", "error"), ("skipped", "skipped")):
        suite.set(attr, str(sum(1 for c in cases if c.find(tag) is not None)))
    suite.set("tests", str(len(cases)))
    suite.set("time", "0")


def to_element(report: Report) -> ET.Element:
    command = COMMANDS.get(report.kind, report.kind)
    root = ET.Element("testsuites", {"name": f"cnsec {command}"})
    findings = ET.SubElement(root, "testsuite", {"name": f"cnsec {command}"})
    props = ET.SubElement(findings, "properties")
    for name, value in (("tool", f"cnsec {__version__}"), ("target", report.target or ".")):
        ET.SubElement(props, "property", {"name": name, "value": _text(value)})
    for f in sorted(report.findings, key=lambda f: (-f.severity, f.check_id, f.asset_id, f.source.file,
                                                    f.source.line or 0)):
        _finding(findings, f)
    inputs = ET.SubElement(root, "testsuite", {"name": f"cnsec {command}: inputs"})
    for e in report.errors:
        _problem(inputs, e, "error")
    for e in report.skipped:
        _problem(inputs, e, "skipped")
    empty = nothing_assessed(report)
    if empty:
        case = _case(inputs, "nothing assessed", "cnsec.inputs", report.target or ".", None)
        ET.SubElement(case, "error", {"message": _text(empty), "type": "nothing-assessed"})
    for suite in (findings, inputs):
        _counts(suite)
    for attr in ("tests", "failures", "errors", "skipped"):
        root.set(attr, str(sum(int(s.get(attr, "0")) for s in (findings, inputs))))
    return root


def render(report: Report) -> str:
    root = to_element(report)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
