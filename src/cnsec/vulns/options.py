"""The options ``cnsec vulns`` shares with ``cnsec assess --images`` (a module apart from the command
line module, so that building the assess parser does not load ``cnsec vulns``'s)."""

from __future__ import annotations

from typing import Any


def add_exploitation_options(p: Any) -> None:
    """--vex, --kev and --epss: shared by 'cnsec vulns' and 'cnsec assess --images'."""
    p.add_argument("--vex", action="append", default=[], metavar="FILE",
                   help="OpenVEX or CycloneDX VEX (JSON) statements (repeatable): a finding a statement says is "
                        "not affected (not_affected, fixed, false_positive, resolved) is reported as suppressed "
                        "with the statement as the reason; affected/under investigation keep it")
    p.add_argument("--kev", metavar="FILE",
                   help="a CISA Known Exploited Vulnerabilities catalog (known_exploited_vulnerabilities.json): "
                        "findings whose CVE it lists are marked known exploited")
    p.add_argument("--epss", metavar="FILE",
                   help="a FIRST EPSS snapshot (epss_scores-DATE.csv, gzip allowed): each finding gets the "
                        "EPSS score of its CVEs")
