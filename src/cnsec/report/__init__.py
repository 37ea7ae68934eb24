"""Renderers: one per format, shared by every pillar that reports findings."""

FORMATS = ("table", "json", "sarif", "markdown")
