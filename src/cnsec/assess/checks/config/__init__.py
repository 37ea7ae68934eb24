"""Checks over configuration text of any kind (YAML, HCL, Dockerfile)."""
