"""``cnsec data …``: the group; its commands come from the crypto and scan modules."""

from __future__ import annotations

import argparse
import importlib
from typing import Any

SUBMODULES = ("cnsec.data.crypto_cli", "cnsec.data.scan.cli")


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "data", help="data security: keys, encryption of files and values, secret scanning",
        description="Data security: envelope encryption with versioned keys, SOPS-style per-value "
                    "encryption, and secret scanning.")
    dsub = parser.add_subparsers(dest="data_command", metavar="COMMAND", parser_class=type(parser))
    for name in SUBMODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name in (name, name.rsplit(".", 1)[0]):
                continue
            raise
        module.register(dsub)
    def show_help(args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    parser.set_defaults(func=show_help)
