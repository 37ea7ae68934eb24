"""Terminal manners shared by every command: colour, width, how much is said on stderr, progress.

The global options (``--no-color``, ``-q``, ``-v``, ``--debug``) are parsed once by ``cnsec.cli``
and stored here, so a renderer deep in a pillar asks :func:`color` or :func:`width` instead of
threading the options through every call. ``main()`` sets them afresh on every run (tests call it
many times in one process).
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from typing import TextIO

#: Width of a table written to a file or a pipe (nothing to fit; wide enough not to fold ids).
FILE_WIDTH = 140


@dataclass
class Settings:
    no_color: bool = False
    quiet: bool = False
    verbose: bool = False
    debug: bool = False


SETTINGS = Settings()


def configure(*, no_color: bool = False, quiet: bool = False, verbose: bool = False, debug: bool = False) -> None:
    SETTINGS.no_color, SETTINGS.quiet = no_color, quiet
    SETTINGS.verbose, SETTINGS.debug = verbose or debug, debug


def color(stream: TextIO | None = None) -> bool:
    """Colour only on a terminal, and never with ``--no-color`` or a non-empty ``NO_COLOR``
    (no-color.org: an empty value does not count)."""
    if SETTINGS.no_color or os.environ.get("NO_COLOR"):
        return False
    stream = sys.stdout if stream is None else stream
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def width(stream: TextIO | None = None) -> int:
    """The width to fit: ``COLUMNS`` when set (as ``shutil.get_terminal_size`` reads it), else the
    terminal's, else :data:`FILE_WIDTH` for a file or a pipe."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    stream = sys.stdout if stream is None else stream
    try:
        if stream.isatty():
            return os.get_terminal_size(stream.fileno()).columns or FILE_WIDTH
    except (AttributeError, ValueError, OSError):
        pass
    return FILE_WIDTH


def fit(text: str, room: int) -> str:
    """``text`` cut to ``room`` characters, with an ellipsis where it was cut."""
    if len(text) <= room:
        return text
    return text[:max(room - 1, 0)] + "…" if room > 0 else ""


def fit_widths(wide: tuple[int, ...], fixed: int, room: int | None = None) -> tuple[int, ...]:
    """Widths for a plain-text table's flexible columns: ``wide`` when the row (``fixed`` characters
    besides) fits ``room`` (default: the window), else each shrunk in proportion, none below 4."""
    room = (width() if room is None else room) - fixed
    if sum(wide) <= room:
        return wide
    total = sum(wide)
    out = [max(w * room // total, 4) for w in wide]
    while sum(out) > room and max(out) > 4:  # the floor of 4 can overshoot: take it from the widest
        out[out.index(max(out))] -= 1
    return tuple(out)


def note(message: str) -> None:
    """A notice on stderr (not an error): left out with ``-q``."""
    if not SETTINGS.quiet:
        print(f"cnsec: {message}", file=sys.stderr)


def verbose(message: str) -> None:
    """Said with ``-v`` (or ``--debug``) only, and never with ``-q``."""
    if SETTINGS.verbose and not SETTINGS.quiet:
        print(f"cnsec: {message}", file=sys.stderr)


class Progress:
    """One status line on stderr (``files 120/400, 35/s``) for work that lasts: shown only when
    stderr is a terminal, not with ``-q``, and only once the work has run for :attr:`DELAY`
    seconds; rewritten at most ten times a second, cleared when done.

    A plain line rewritten after a carriage return, not rich's live display: that needs cursor
    control sequences (NO_COLOR users get no escape code from cnsec at all) and a refresh thread,
    and the commands that report progress fork workers (a thread holding a lock at ``fork`` can
    deadlock the child). No thread here: the line moves when the work reports.
    """

    DELAY = 1.0
    INTERVAL = 0.1

    def __init__(self, unit: str, total: int | None = None, *, byte_total: int | None = None,
                 stream: TextIO | None = None) -> None:
        self.unit, self.total, self.byte_total = unit, total, byte_total
        self.done = 0
        self.bytes = 0
        self.stream = sys.stderr if stream is None else stream
        self.start = time.monotonic()
        self._last = 0.0
        self._shown = 0
        try:
            self.enabled = not SETTINGS.quiet and self.stream.isatty()
        except (AttributeError, ValueError):
            self.enabled = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def advance(self, n: int = 1, nbytes: int = 0) -> None:
        self.set(self.done + n, self.bytes + nbytes)

    def set(self, done: int, nbytes: int = 0) -> None:
        """Work done so far (as counted elsewhere, e.g. by worker processes)."""
        self.done, self.bytes = done, nbytes
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.start < self.DELAY or now - self._last < self.INTERVAL:
            return
        self._last = now
        self._draw(self.line(now - self.start))

    def line(self, elapsed: float) -> str:
        """The status text after ``elapsed`` seconds."""
        done = f"{self.done:,}/{self.total:,}" if self.total is not None else f"{self.done:,}"
        parts = [f"{self.unit} {done}"]
        if self.bytes:
            size = _size(self.bytes) + (f"/{_size(self.byte_total)}" if self.byte_total else "")
            parts.append(size)
        rate = f"{self.done / elapsed:,.0f} {self.unit}/s" if elapsed > 0 else ""
        if self.bytes and elapsed > 0:
            rate += f", {_size(self.bytes / elapsed)}/s"
        if rate:
            parts.append(rate)
        return "cnsec: " + ", ".join(parts)

    def _draw(self, text: str) -> None:
        text = fit(text, width(self.stream) - 1)  # the last column would wrap on some terminals
        pad = " " * max(self._shown - len(text), 0)
        self.stream.write(f"\r{text}{pad}\r")
        self.stream.flush()
        self._shown = len(text)

    def close(self) -> None:
        if self._shown:
            self.stream.write("\r" + " " * self._shown + "\r")
            self.stream.flush()
            self._shown = 0


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"  # pragma: no cover - the loop always returns
