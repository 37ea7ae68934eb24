"""The one ``.cnsec.yaml``: where it is looked for and how it is read. Every pillar reads its own
section of the same document (assess its checks and suppressions, correlate its metric mappings, data
scan its allowlists), so the file's reading lives here, under the pillars, not in one of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnsec.errors import ConfigError
from cnsec.model.source import Source

CONFIG_NAMES = (".cnsec.yaml", ".cnsec.yml")


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
