"""Cargo.lock (TOML ``[[package]]`` tables, the same shape as poetry.lock)."""

from __future__ import annotations

from pathlib import Path

from cnsec.vulns.inventory import LockfileFormat, Package
from cnsec.vulns.inventory.poetry import parse_toml_packages


def parse(path: Path, text: str) -> list[Package]:
    return parse_toml_packages(path, text, "crates.io")


FORMAT = LockfileFormat("cargo", "crates.io", ("Cargo.lock",), parse)
