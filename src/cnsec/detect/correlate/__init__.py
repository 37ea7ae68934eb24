"""Threats made of signs, correlated over time (issue 7).

Inputs (metric samples, access logs, the IAM audit log, and every source of the detection engine) become
*records*; *signs* are single-event conditions or metric conditions over windows with learned baselines;
*threat rules* combine signs (all / any / N of / ordered sequence) within a window per key and name the
response action. Sigma correlation rules run on the same machinery. See docs/correlation.md.
"""
