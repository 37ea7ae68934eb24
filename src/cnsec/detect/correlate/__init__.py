"""Threats made of signs, correlated over time (issue 7).

Inputs (metric samples, access logs, the IAM audit log, and every source of the detection engine) become
*records*; *signs* are single-event conditions or metric conditions over windows with learned baselines;
*threat rules* combine signs (all / any / N of / ordered sequence) within a window per key and name the
response action. Sigma correlation rules run on the same machinery. See docs/correlation.md.
"""

#: How far out of time order (seconds of event time) records may arrive within an input and still be
#: correlated; later ones are counted and skipped. ``cnsec correlate``, ``cnsec detect --threats``,
#: the library ``Detector`` and ``cnsec serve`` all default to it.
DEFAULT_LATENESS = 120.0
#: The most ``--lateness`` may be: a day (the reorder buffer holds what arrives within it)
MAX_LATENESS = 86400.0
