"""Structured logs: one JSON object a line on stderr, never a secret.

What is logged is chosen, not dumped: method, route template (not the path: ids and tokens can be in
it; no query string: tokens and search terms travel there), status, duration, user, request id.
Exceptions are logged with their type and traceback frames, which hold code, not request bodies; the
exception's own text is left out (it may quote input, and SQLAlchemy's quotes the statement's
parameters), except the first line of a database driver's message, which names the fault.
"""

from __future__ import annotations

import logging
import sys
import time
import traceback
from typing import Any

import orjson


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {"ts": round(record.created, 3), "level": record.levelname.lower(),
                               "logger": record.name, "msg": record.getMessage()}
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()

    def formatException(self, ei: Any) -> str:
        etype, exc, tb = ei
        frames = "".join(traceback.format_tb(tb))
        text = f"Traceback (most recent call last):\n{frames}{etype.__module__}.{etype.__qualname__}"
        orig = getattr(exc, "orig", None)
        if orig is not None:  # a DBAPI error: the driver's first line, never the statement's parameters
            from cnsec.store.engine import driver_message

            text += f": {driver_message(exc)}"
        return text


def configure(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("cnsec", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False


def now() -> float:
    return time.time()
