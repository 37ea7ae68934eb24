"""A real server for tests: the app under uvicorn, configured as ``cnsec serve`` configures it, in a
thread on a free loopback port (port 0: the kernel picks, so no two tests race for one)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from fastapi import FastAPI

from cnsec.serve.settings import Settings
from cnsec.serve.startup import uvicorn_config


@contextmanager
def serving(app: FastAPI, settings: Settings) -> Iterator[str]:
    """Serve ``app`` until the block ends; the base URL (https when the settings have TLS files)."""
    import uvicorn

    server = uvicorn.Server(uvicorn_config(replace(settings, host="127.0.0.1", port=0), app))
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"{'https' if settings.tls else 'http'}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
