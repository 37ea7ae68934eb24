"""Shared helpers for the benchmark scripts: locating the corpora, running a command and measuring it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import venv
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO / ".." / "shared").resolve()
CORPORA = SHARED / "corpora"


def compile_sources() -> None:
    """Byte-compile cnsec's sources, as ``pip install`` does for an installed package.

    The repo's venv holds cnsec as an editable install, which pip does not byte-compile, and where
    PYTHONDONTWRITEBYTECODE is set (it is on our machines) Python never writes the bytecode itself:
    every run would compile ~200 modules from source (~0.1 s). The peers, installed by pip into
    their own venvs, run from bytecode; so does cnsec once installed. Stale files are never used:
    Python checks each source's timestamp.
    """
    import compileall

    compileall.compile_dir(str(REPO / "src"), quiet=1)


def require_corpus(sub: str) -> Path:
    path = CORPORA / sub
    if not path.exists():
        print(f"corpus {path} is absent: nothing to measure", file=sys.stderr)
        print("RESULT skipped=true")
        sys.exit(0)
    return path


def cnsec_exe() -> list[str]:
    exe = REPO / ".venv" / "bin" / "cnsec"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "cnsec"]


def peer_venv(name: str, packages: list[str]) -> Path:
    """A venv of its own for a peer tool (bench/.venv-NAME), created and filled on first use."""
    where = REPO / "bench" / f".venv-{name}"
    stamp = where / ".installed"
    wanted = " ".join(packages)
    if not stamp.exists() or stamp.read_text() != wanted:
        print(f"installing {wanted} into {where} …", file=sys.stderr)
        if not (where / "bin" / "python").exists():
            venv.EnvBuilder(with_pip=True, symlinks=True).create(where)
        subprocess.run([str(where / "bin" / "pip"), "install", "-q", *packages], check=True)
        stamp.write_text(wanted)
    return where


@dataclass
class Measured:
    seconds: float
    peak_mb: float
    returncode: int
    stdout: bytes


TIME = "/usr/bin/time"


def measure(cmd: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 3600) -> Measured:
    """Wall time and peak RSS of one command (and its waited-for children).

    Peak RSS comes from GNU time when it is installed: a child forked from this (large) process would
    inherit its high-water mark, so wait4's figure is only the fallback.
    """
    import tempfile

    started = time.perf_counter()
    rss_file = None
    if os.path.exists(TIME):
        rss_fd, rss_file = tempfile.mkstemp(prefix="cnsec-bench-rss-")
        os.close(rss_fd)
        cmd = [TIME, "-q", "-f", "%M", "-o", rss_file, *cmd]
    proc = subprocess.Popen(cmd, cwd=cwd, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    deadline = started + timeout
    chunks = []
    while True:
        chunk = proc.stdout.read(1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
        if time.perf_counter() > deadline:
            proc.kill()
            break
    out = b"".join(chunks)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    peak_kb = float(usage.ru_maxrss)
    if rss_file is not None:
        try:
            text = Path(rss_file).read_text().strip().splitlines()
            peak_kb = float(text[-1]) if text else peak_kb
        except (OSError, ValueError):
            pass
        finally:
            os.unlink(rss_file)
    return Measured(seconds, peak_kb / 1024, proc.returncode, out)
