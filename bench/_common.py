"""Shared helpers for the benchmark scripts: locating the corpora, running a command and measuring it."""

from __future__ import annotations

import json
import os
import re
import shutil
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
    #: user + system CPU seconds of the command and its waited-for children: on a shared, loaded
    #: machine the fairer figure to compare two tools by
    cpu_seconds: float = 0.0


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
    return Measured(seconds, peak_kb / 1024, proc.returncode, out, usage.ru_utime + usage.ru_stime)


def checkout_paths(repo: str, commit: str, paths: list[str], mirror: Path | None, dest: Path) -> Path | None:
    """``paths`` of GitHub repository ``repo`` (owner/name) at ``commit``, as files under ``dest``.

    Taken from the bare mirror ``mirror/<owner>+<name>/repo`` the fetch tool makes, once: a stamp in
    ``dest`` names the commit and paths, and a later run with the same ones reuses the files. Without a
    mirror an existing ``dest`` is used as it is; None when there is neither.
    """
    stamp = dest / ".cnsec-bench-commit"
    if stamp.exists() and stamp.read_text() == f"{commit} {' '.join(paths)}":
        return dest
    if mirror is None:
        return dest if dest.is_dir() else None
    git_dir = mirror / repo.replace("/", "+") / "repo"
    if not git_dir.is_dir():
        return None
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    wanted = [] if paths == ["."] else paths
    listing = subprocess.run(["git", f"--git-dir={git_dir}", "ls-tree", "-r", "-z", commit, "--", *wanted],
                             capture_output=True, check=True).stdout.split(b"\0")
    blobs: list[tuple[str, str]] = []
    for row in listing:
        if not row:
            continue
        meta, _, raw_path = row.partition(b"\t")
        mode, typ, oid = meta.split()
        if typ == b"blob" and mode != b"120000":
            blobs.append((oid.decode(), raw_path.decode()))
    # the store's snapshots lack files of 4 MiB and more: write what is there, say what is not
    batch = subprocess.run(["git", f"--git-dir={git_dir}", "cat-file", "--batch"],
                           input="".join(f"{oid}\n" for oid, _ in blobs).encode(), capture_output=True,
                           check=True).stdout
    pos = 0
    missing: list[str] = []
    for _oid, path in blobs:
        end = batch.index(b"\n", pos)
        header = batch[pos:end].split()
        pos = end + 1
        if header[-1] == b"missing":
            missing.append(path)
            continue
        size = int(header[2])
        target = dest / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(batch[pos:pos + size])
        pos += size + 1
    if missing:
        print(f"{repo}: {len(missing)} file(s) absent from the mirror, not measured: {', '.join(missing[:5])}")
    stamp.write_text(f"{commit} {' '.join(paths)}")
    return dest


def checkov_output(venv_dir: Path, root: Path, frameworks: str, cache: Path, reuse: bool) -> tuple[float, bytes]:
    """Seconds Checkov took on ``root`` and its JSON output (``--framework frameworks``); the CPU
    seconds are kept in the cache too (:func:`checkov_cpu_seconds`).

    Its output depends on the checkout alone (repository, commit, Checkov version), so it is kept in
    ``cache`` with the seconds it took, and read back when ``reuse`` is asked: Checkov takes minutes.
    """
    if reuse and cache.exists():
        saved = json.loads(cache.read_text())
        return float(saved["seconds"]), str(saved["output"]).encode()
    m = measure([str(venv_dir / "bin" / "checkov"), "-d", ".", "--framework", frameworks, "-o", "json",
                 "--quiet", "--compact", "--skip-download", "--skip-results-upload"], cwd=root,
                env={"BC_SKIP_MAPPING": "TRUE"})
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({"seconds": m.seconds, "cpu_seconds": m.cpu_seconds,
                                 "output": m.stdout.decode(errors="replace")}))
    return m.seconds, m.stdout


def checkov_cpu_seconds(cache: Path) -> float | None:
    """The CPU seconds of the Checkov run kept in ``cache``, None for a cache made before they were kept."""
    if not cache.exists():
        return None
    value = json.loads(cache.read_text()).get("cpu_seconds")
    return float(value) if value is not None else None


_TF_INSTANCE = re.compile(r"\[[^\]]*\]")


def terraform_block(address: str) -> str:
    """``type.name`` of a Terraform address: Checkov names a module's resource once per module call
    (``module.eks.module.node_group["x"].aws_launch_template.this``); the file already says which module
    it is, and a finding is about the block the user edits, so calls and instances are folded."""
    parts = _TF_INSTANCE.sub("", address.partition("@")[0]).split(".")  # cnsec's "@caller" tells calls apart
    return ".".join(parts[-2:])
