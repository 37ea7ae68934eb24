"""The ``cnsec`` command: parses arguments, hands off to a pillar, renders the result.

Each pillar contributes its sub-commands from its own ``cli`` module (``register(subparsers)``), and
those modules import nothing heavy at import time, so ``cnsec --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from collections.abc import Sequence

from cnsec import __version__

_STARTED = time.monotonic()  # as the module is imported: start-up time for -v

#: The pillars that contribute sub-commands, in help order.
PILLAR_CLIS = (
    "cnsec.assess.cli",
    "cnsec.iam.cli",
    "cnsec.data.cli",
    "cnsec.detect.cli",
    "cnsec.detect.correlate.cli",
    "cnsec.respond.cli",
    "cnsec.vulns.cli",
    "cnsec.serve.cli",
)


#: Options every command takes, before or after its name (``cnsec -q assess .`` = ``cnsec assess . -q``).
GLOBAL_OPTIONS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("--no-color",), "no colour in any output (as NO_COLOR set to anything non-empty does)"),
    (("-q", "--quiet"), "say nothing on stderr but errors: no progress, no notices"),
    (("-v", "--verbose"), "also say which configuration file was used and how long the run took"),
    (("--debug",), "-v, and a traceback for an internal error (never for a mistake in the input or "
                   "the command line)"),
)
#: What a run ends with when cnsec itself failed (not the input, not the command line): neither
#: "findings" (1) nor "usage or input error" (2).
INTERNAL_ERROR = 3


class _Parser(argparse.ArgumentParser):
    """Every parser, at every depth, takes the global options (argparse gives sub-parsers their
    parent's class). Below the top they default to SUPPRESS, so a sub-command that was not given
    ``-q`` does not reset the ``-q`` given before its name."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        group = self.add_argument_group("global options")
        for flags, text in GLOBAL_OPTIONS:
            group.add_argument(*flags, action="store_true", default=argparse.SUPPRESS, help=text)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"cnsec: error: {message}\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with ``command``, pillars are registered only until one provides it (their
    CLI modules are not imported at all: start-up of a command pays for its own pillar only)."""
    parser = _Parser(
        prog="cnsec",
        description="Cloud-native security: assess, identity & access, data security, detect & respond.",
    )
    parser.add_argument("--version", action="version", version=f"cnsec {__version__}")
    parser.set_defaults(no_color=False, quiet=False, verbose=False, debug=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module_name in PILLAR_CLIS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and module_name.startswith(exc.name):
                continue
            raise
        module.register(sub)
        if command is not None and command in sub.choices:
            break
    if command in (None, "completion"):
        comp = sub.add_parser("completion", help="print a completion script for bash, zsh or fish",
                              description="Print a shell completion script: sub-commands, options and option "
                                          "values at every depth. Install it once, e.g. `cnsec completion bash "
                                          "> /etc/bash_completion.d/cnsec`, `cnsec completion fish > "
                                          "~/.config/fish/completions/cnsec.fish`.")
        comp.add_argument("shell", choices=("bash", "zsh", "fish"))
        comp.set_defaults(func=_completion)
    return parser


def _completion(args: argparse.Namespace) -> int:
    from cnsec.completion import script

    sys.stdout.write(script(args.shell, build_parser()))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    global _SKIP_TEARDOWN
    _SKIP_TEARDOWN = False  # a command says so again (tests call main many times in one process)
    _KEPT.clear()
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(next((w for w in words if not w.startswith("-")), None))
    args = parser.parse_args(words)
    from cnsec.report import console

    console.configure(no_color=args.no_color, quiet=args.quiet, verbose=args.verbose, debug=args.debug)
    handler = getattr(args, "func", None)
    if handler is None:
        parser.print_help()
        return 2
    from cnsec.errors import CnsecError

    started = time.monotonic()
    try:
        code = handler(args)
        console.verbose(f"done in {time.monotonic() - started:.2f} s "
                        f"(start-up {started - _STARTED:.2f} s)")
        return int(code or 0)
    except CnsecError as exc:  # the input or the command line: the message says it all
        from cnsec.report.safe import printable

        print(f"cnsec: {printable(exc)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("cnsec: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (| head): not an error worth a traceback
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as exc:  # cnsec's own fault: one line, the traceback with --debug
        if args.debug:
            raise
        from cnsec.report.safe import one_line

        print(f"cnsec: internal error: {type(exc).__name__}: {one_line(exc)} (run again with --debug "
              f"for the traceback, and please report it)", file=sys.stderr)
        return INTERNAL_ERROR


#: Set by a command that leaves a large heap behind (an assessment: millions of small objects) and
#: has nothing left to clean up: the console entry point then ends the process without freeing them
#: one by one (about a tenth of a second on a big input), as mypy does. Output is flushed first.
_SKIP_TEARDOWN = False
_KEPT: list[object] = []


def skip_teardown(*keep: object) -> None:
    """Let the console entry point exit without tearing the heap down (see :data:`_SKIP_TEARDOWN`);
    ``keep`` stays referenced until then, so it is not freed object by object on the way out."""
    global _SKIP_TEARDOWN
    _SKIP_TEARDOWN = True
    _KEPT.extend(keep)


def run() -> None:  # pragma: no cover - console entry point
    code = main()
    if _SKIP_TEARDOWN:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BrokenPipeError:  # the reader went away: nothing more to say to it
            pass
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
