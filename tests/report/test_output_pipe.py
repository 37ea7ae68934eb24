"""A large report written into a pipe asks for a wider pipe; anything else is left alone."""

from __future__ import annotations

import os
import sys

import pytest

from cnsec.report.output import _widen_pipe


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pipe sizes are a Linux feature")
def test_a_pipe_is_widened_to_a_mebibyte() -> None:
    import fcntl

    r, w = os.pipe()
    try:
        with os.fdopen(w, "wb", closefd=False) as stream:
            _widen_pipe(stream)
        assert fcntl.fcntl(w, fcntl.F_GETPIPE_SZ) >= 1 << 20
    finally:
        os.close(r)
        os.close(w)


def test_a_regular_file_or_a_stream_without_a_descriptor_is_left_alone(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import io

    with open(tmp_path / "out", "wb") as handle:
        _widen_pipe(handle)  # no error, nothing to widen
    _widen_pipe(io.BytesIO())
