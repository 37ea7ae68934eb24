"""Secret scanning: ``cnsec data scan`` and the one credential-detection API every pillar uses.

Stable, pure, fast API (the assessment pillar's hard-coded-credential checks call it, so there is one
implementation of "is this a secret"):

``scan_text(text, path="<text>") -> list[SecretHit]``
    Every secret in a text (a file's content). ``path`` only informs the per-file-type filters (an
    unquoted identifier in a ``.py`` file is a variable, in a ``.env`` file it is a value; generic
    detectors stay quiet under ``tests/``). Hits are ordered by line and column.

``scan_value(key, value) -> SecretHit | None``
    One key/value pair: an env var name and value, a ConfigMap key and value, an annotation, a
    Dockerfile ``ENV``/``ARG``, a Terraform attribute. A value in a known token format is reported
    whatever the key; otherwise a literal under a sensitive name (``DB_PASSWORD``, ``api_key``,
    ``client_secret``, ``token``) is reported unless it is a placeholder or a reference
    (``${X}``, ``$(X)``, ``{{ .Values.x }}``, ``changeme``).

``SecretHit`` has ``detector`` (stable id, e.g. ``aws-access-key-id``; use it as the check id),
``title``, ``severity`` (:class:`cnsec.model.Severity`), ``line``/``end_line``/``column`` (1-based,
relative to the text), ``preview`` (redacted: never the secret) and ``fingerprint`` (salted hash
of the secret, stable across runs). Neither function raises on any input and neither does I/O; both
reuse one compiled engine per process (the first call compiles it: about 0.1 s).

``detector_catalog()`` lists the detector declarations (id, title, severity, description) for catalogs.
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the engine is imported on first use: `cnsec --help` must not pay for it
    from cnsec.data.scan.detectors import Detector
    from cnsec.data.scan.engine import Engine, SecretHit

__all__ = ["SecretHit", "default_engine", "detector_catalog", "key_parts", "scan_text", "scan_value"]


def __getattr__(name: str) -> Any:
    if name in ("SecretHit", "Engine"):
        from cnsec.data.scan import engine

        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@cache
def default_engine() -> Engine:
    """The API's engine. RE2-backed: on the short texts the API sees it is as fast as Hyperscan and
    compiles in half the time (results are identical by construction)."""
    from cnsec.data.scan.engine import Engine

    return Engine(backend="re2")


def key_parts(key: str) -> tuple[str, ...]:
    """The words of a setting's name (``webhookCaSecret`` → webhook, ca, secret), as the detectors read
    them: what other pillars use to judge a name the way secret scanning does."""
    from cnsec.data.scan.filters import key_parts as parts

    return parts(key)


def scan_text(text: str, path: str = "<text>") -> list[SecretHit]:
    return default_engine().scan_bytes(text.encode("utf-8", "surrogatepass"), path)


#: Values up to this length are remembered with their verdict: the same flags, env vars and
#: annotations recur across a cluster's resources (on the assess corpus, 733 distinct pairs of 7,369),
#: and the verdict depends on the pair alone (a frozen SecretHit, or None).
_MAX_REMEMBERED = 512


def scan_value(key: str | None, value: str) -> SecretHit | None:
    if len(value) <= _MAX_REMEMBERED:
        return _remembered_scan(key, value)
    return _scan_value(key, value)


def _scan_value(key: str | None, value: str) -> SecretHit | None:
    from cnsec.data.scan.engine import scan_value_with

    return scan_value_with(default_engine(), key, value)


_remembered_scan = lru_cache(maxsize=4096)(_scan_value)


def detector_catalog() -> tuple[Detector, ...]:
    from cnsec.data.scan.detectors import all_detectors

    return all_detectors()
