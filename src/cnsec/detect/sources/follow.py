"""Follow a file like ``tail -F``: keep reading as it grows, survive rotation and truncation.

Rotation (the path now names a new file: new inode) is noticed on the next idle poll; whatever is
left in the old file is read first, then the new one is read from its start. A truncated file
(size below our position) is read again from the start. Partial lines wait for their newline.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import IO

from cnsec.detect import sources
from cnsec.detect.sources import Chunk


def follow(path: str, *, poll: float = 0.2, idle_exit: float | None = None,
           on_idle: Callable[[], None] | None = None, from_start: bool = True) -> Iterator[Chunk]:
    """Yield complete lines of ``path`` forever (or until ``idle_exit`` seconds pass with no data); a line
    is held up to :data:`~cnsec.detect.sources.MAX_LINE` bytes, as in a batch read."""
    handle: IO[bytes] | None = None
    inode: int | None = None
    line_no = 0
    pending = b""
    dropping = False
    last_data = time.monotonic()

    def open_current(start_at_end: bool) -> None:
        nonlocal handle, inode, line_no
        try:
            h = open(path, "rb")  # noqa: SIM115 - kept open across iterations, closed on rotation
        except FileNotFoundError:
            handle, inode = None, None
            return
        st = os.fstat(h.fileno())
        if start_at_end:
            h.seek(0, os.SEEK_END)
        handle, inode, line_no = h, st.st_ino, 0

    open_current(start_at_end=not from_start)
    try:
        while True:
            got = False
            if handle is not None:
                while True:
                    data = handle.readline(sources.MAX_LINE)
                    if not data:
                        break
                    got = True
                    if dropping:  # the rest of a line cut at the limit, up to its newline
                        dropping = not data.endswith(b"\n")
                        continue
                    pending += data
                    if pending.endswith(b"\n"):
                        line_no += 1
                        yield Chunk(line_no, pending)
                        pending = b""
                    elif len(pending) >= sources.MAX_LINE:  # cut, as sources._Guard cuts: reported by the scan
                        line_no += 1
                        yield Chunk(line_no, pending[:sources.MAX_LINE])
                        pending = b""
                        dropping = True
            if got:
                last_data = time.monotonic()
                continue
            # idle: rotated or truncated?
            try:
                st = os.stat(path)
            except FileNotFoundError:
                st = None
            if handle is None:
                if st is not None:
                    open_current(start_at_end=False)
                    continue
            elif st is not None and (st.st_ino != inode or st.st_size < handle.tell()):
                if st.st_ino == inode:  # truncated in place
                    handle.seek(0)
                    line_no = 0
                    pending = b""
                    dropping = False
                else:
                    if pending:
                        line_no += 1
                        yield Chunk(line_no, pending)
                        pending = b""
                    handle.close()
                    dropping = False
                    open_current(start_at_end=False)
                continue
            if on_idle is not None:
                on_idle()
            if idle_exit is not None and time.monotonic() - last_data >= idle_exit:
                return
            time.sleep(poll)
    finally:
        if handle is not None:
            handle.close()
