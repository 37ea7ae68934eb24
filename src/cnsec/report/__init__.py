"""Renderers: one per format, shared by every pillar that reports findings."""

from cnsec.report.options import FORMATS

__all__ = ["FORMATS"]
