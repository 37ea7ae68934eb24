"""Helm charts and Kustomize overlays rendered into the objects they deploy, each pointing back to
the template, base or patch it came from (see docs/charts.md)."""
