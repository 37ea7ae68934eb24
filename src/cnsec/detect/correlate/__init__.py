"""Threats made of signs, correlated over time (issue 7).

Inputs (metric samples, access logs, the IAM audit log, and every source of the detection engine) become
*records*; *signs* are single-event conditions or metric conditions over windows with learned baselines;
*threat rules* combine signs (all / any / N of / ordered sequence) within a window per key and name the
response action. Sigma correlation rules run on the same machinery. See docs/correlation.md.
"""

from __future__ import annotations

#: How far out of time order (seconds of event time) records may arrive within an input and still be
#: correlated; later ones are counted and skipped. ``cnsec correlate``, ``cnsec detect --threats``,
#: the library ``Detector`` and ``cnsec serve`` all default to it.
DEFAULT_LATENESS = 120.0
#: The most ``--lateness`` may be: a day (the reorder buffer holds what arrives within it)
MAX_LATENESS = 86400.0


def check_lateness(value: float, name: str = "--lateness") -> float:
    """``value`` if it is a lateness (0 to :data:`MAX_LATENESS` seconds); otherwise a usage error
    (exit 2) naming ``name``. NaN is refused too; a negative lateness skipped every record as late."""
    if not 0 <= value <= MAX_LATENESS:
        from cnsec.errors import UsageError

        raise UsageError(f"{name}: between 0 and {MAX_LATENESS:g} seconds, not {value:g}")
    return value
