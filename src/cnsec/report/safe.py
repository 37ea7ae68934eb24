"""Text from the input, made safe to show: no terminal escapes, no bidi tricks, no rich markup.

A manifest in an untrusted repository can name a resource ``"\\x1b]0;...\\x07"`` (retitle or clear
the terminal of whoever runs ``cnsec assess``) or hide text with bidi overrides; the reports show
such characters as visible escapes instead.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: object) -> str:
    return _UNSAFE.sub(_escape, str(text))


_UNSAFE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def one_line(text: object) -> str:
    """:func:`printable`, and newlines, carriage returns and tabs escaped too: for a message that must
    stay one line (stderr, a log): a newline is shown as ``\\n``, so a file named ``"x.yaml\\ncnsec: all
    clear"`` cannot forge a line."""
    return _UNSAFE_LINE.sub(_escape_line, str(text))


_LINE_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_line(m: re.Match[str]) -> str:
    return _LINE_ESCAPES.get(m.group()) or _escape(m)


def _escape(m: re.Match[str]) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def rich_text(text: object) -> str:
    """For a rich table cell: printable, and ``[...]`` is not taken as markup."""
    from rich.markup import escape

    return escape(printable(text))
