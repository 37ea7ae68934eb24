"""The one ``.cnsec.yaml``: where it is looked for and how it is read. Every pillar reads its own
section of the same document (assess its checks and suppressions, correlate its metric mappings, data
scan its allowlists), so the file's reading lives here, under the pillars, not in one of them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cnsec.errors import ConfigError
from cnsec.fsutil import id_base, repository_root
from cnsec.model.source import Source

CONFIG_NAMES = (".cnsec.yaml", ".cnsec.yml")


def _look_up(start: Path, stop: Path | None) -> Path | None:
    """``.cnsec.yaml`` in ``start`` or a folder above it, up to and including ``stop``.

    ``stop`` is the repository root, or outside a repository the inputs' common folder: a stray
    ``/tmp/.cnsec.yaml`` must not silently change what an unrelated scan reports.
    """
    start = start.resolve()
    folders = [start]
    if stop is not None and start.is_relative_to(stop):
        folders += start.parents[: len(start.parents) - len(stop.parents)]
    for folder in folders:
        for name in CONFIG_NAMES:
            candidate = folder / name
            if candidate.is_file():
                return candidate
    return None


def locate(targets: Sequence[str], explicit: str | None = None) -> Path | None:
    """The configuration file a run uses, the same for every pillar: ``explicit`` (``--config``) when
    given, else the first ``.cnsec.yaml`` found from each target upwards to the repository root (to
    the inputs' common folder outside a repository), else from the current directory upwards to its
    repository root; ``None`` when there is none.

    Looking upwards is what keeps a project's suppressions when a sub-folder is assessed (``cnsec
    assess shop/k8s`` and ``cd shop/k8s && cnsec assess .`` read ``shop/.cnsec.yaml``), as ruff,
    ESLint and SOPS (``.sops.yaml``) do.
    """
    if explicit:
        if not Path(explicit).is_file():
            raise ConfigError("configuration file not found", Source(explicit))
        return Path(explicit)
    stop = id_base(targets)
    for target in targets:
        if target == "-" or not target or not Path(target).exists():
            continue
        base = Path(target)
        found = _look_up(base if base.is_dir() else base.parent, stop)
        if found is not None:
            return found
    return _look_up(Path.cwd(), repository_root(Path.cwd()))


def display(path: Path) -> str:
    """``path`` as the user would type it: relative to the current directory when below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start})", Source(str(path))) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", Source(str(path))) from None


def read_document(path: str) -> Any:
    """The first YAML document of the configuration file ``path`` (``None`` when empty): one
    ``.cnsec.yaml`` serves every pillar, and each reads its own section of this document."""
    if not Path(path).is_file():
        raise ConfigError("configuration file not found", Source(path))
    return load_document(read_text(Path(path)), path)


def load_document(text: str, path: str) -> Any:
    """The first YAML document of ``text`` (``None`` when empty); broken YAML is a ConfigError."""
    import yaml

    from cnsec.yamlsafe import error_line, error_message, load_documents

    try:
        docs = list(load_documents(text))
    except yaml.YAMLError as exc:
        raise ConfigError(error_message(exc), Source(path, error_line(exc))) from None
    except (ValueError, TypeError, RecursionError) as exc:
        raise ConfigError(f"invalid YAML: {exc}", Source(path)) from None
    return docs[0][0] if docs else None
