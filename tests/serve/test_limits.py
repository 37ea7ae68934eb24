"""Oversized and malformed requests: refused with a clean JSON 4xx, and an oversized body refused before
it is read whole — proved by counting what the server pulled from the body, in process (ASGI receive
calls) and over a real socket (bytes the client managed to send)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cnsec.serve.app import create_app
from cnsec.serve.context import ServeContext
from cnsec.serve.settings import Settings
from tests.serve.live import serving

CHUNK = 64 << 10
LIMIT = 1 << 20


def limited(ctx: ServeContext, **changes: Any) -> ServeContext:
    """The same store under other settings (limits)."""
    return ServeContext(replace(ctx.settings, **changes), ctx.engine, ctx.iam, ctx.tokens)


class CountingBody:
    """An ASGI receive() over ``chunks`` chunks of 64 KiB that counts how many the app pulled."""

    def __init__(self, chunks: int) -> None:
        self.chunks, self.pulled = chunks, 0

    async def __call__(self) -> dict[str, Any]:
        if self.pulled >= self.chunks:
            await asyncio.sleep(3600)  # a client that sends nothing more: the app must not wait here
        self.pulled += 1
        return {"type": "http.request", "body": b" " * CHUNK, "more_body": self.pulled < self.chunks}


def call(app: Any, path: str, headers: list[tuple[bytes, bytes]], body: CountingBody) -> tuple[int, dict[str, Any]]:
    """One request straight into the ASGI app; the status and the JSON answer."""
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"test"), (b"content-type", b"application/json"), *headers],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    asyncio.run(asyncio.wait_for(app(scope, body, send), 30))
    start = next(m for m in sent if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], json.loads(content)


def test_a_declared_length_over_the_limit_is_413_with_nothing_of_the_body_read(serve_ctx: ServeContext) -> None:
    app = create_app(context=limited(serve_ctx, max_body=LIMIT))
    body = CountingBody(1600)  # 100 MiB
    status, answer = call(app, "/v1/session", [(b"content-length", str(1600 * CHUNK).encode())], body)
    assert status == 413 and answer["error"]["code"] == "too_large"
    assert body.pulled == 0


def test_a_chunked_body_over_the_limit_is_413_as_soon_as_the_limit_is_passed(serve_ctx: ServeContext) -> None:
    app = create_app(context=limited(serve_ctx, max_body=LIMIT))
    body = CountingBody(1600)  # 100 MiB, no Content-Length
    status, answer = call(app, "/v1/session", [], body)
    assert status == 413, answer
    assert answer["error"]["code"] == "too_large" and "1048576 bytes" in answer["error"]["message"]
    assert body.pulled == LIMIT // CHUNK + 1  # the chunk that passed the limit, not one more


def test_a_route_prefix_can_have_its_own_larger_limit(serve_ctx: ServeContext) -> None:
    larger = create_app(context=limited(serve_ctx, max_body=LIMIT, max_body_by_prefix={"/v1/session": 4 * LIMIT}))
    body = CountingBody(20)  # 1.25 MiB: over the default, under the route's limit
    status, answer = call(larger, "/v1/session", [], body)
    # read whole, then found not to be a login
    assert status == 422 and answer["error"]["code"] == "invalid" and body.pulled == 20
    other = create_app(context=limited(serve_ctx, max_body=LIMIT, max_body_by_prefix={"/v1/other": 4 * LIMIT}))
    assert call(other, "/v1/session", [], CountingBody(20))[0] == 413


def test_the_longest_configured_prefix_gives_the_limit() -> None:
    s = Settings(max_body=10, max_body_by_prefix={"/v1": 20, "/v1/assessments": 30})
    assert (s.body_limit("/v1/assessments/x"), s.body_limit("/v1/findings"), s.body_limit("/ui")) == (30, 20, 10)


def _raw_upload(base: str, head: bytes, body: Iterator[bytes]) -> tuple[bytes, int]:
    """Send a request over a plain socket, body chunk by chunk, until the server answers; the answer
    and how many body bytes the client got out before it did. A reader thread waits in recv() from the
    start, so the answer is taken as it arrives, before the reset that closing on an unread body causes."""
    host, port = base.removeprefix("http://").split(":")
    answer: list[bytes] = []
    sent = 0
    with socket.create_connection((host, int(port)), timeout=30) as sock:

        def read() -> None:
            try:
                while part := sock.recv(65536):
                    answer.append(part)
            except OSError:
                pass

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        sock.sendall(head)
        for chunk in body:
            if answer:
                break  # the server has answered
            try:
                sock.sendall(chunk)
            except OSError:  # it answered and closed while we were sending
                break
            sent += len(chunk)
        reader.join(timeout=10)
    return b"".join(answer), sent


def test_a_real_server_answers_413_to_a_100_mib_chunked_upload_long_before_it_is_sent(
        serve_ctx: ServeContext) -> None:
    ctx = limited(serve_ctx, max_body=LIMIT)
    frame = f"{CHUNK:x}\r\n".encode() + b" " * CHUNK + b"\r\n"
    with serving(create_app(context=ctx), ctx.settings) as base:
        answer, sent = _raw_upload(base, b"POST /v1/session HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                                         b"Transfer-Encoding: chunked\r\n\r\n", iter([frame] * 1600))
        declared, sent_declared = _raw_upload(
            base, b"POST /v1/session HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 104857600\r\n\r\n", iter([b" " * CHUNK] * 1600))
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b'"code":"too_large"' in answer and b"connection: close" in answer.lower()
    assert sent < 32 * LIMIT, f"{sent} bytes went out before the answer"  # loopback buffers hold a few MiB
    assert declared.startswith(b"HTTP/1.1 413 ") and sent_declared < 32 * LIMIT


@pytest.mark.parametrize(("body", "ctype", "status"), [
    (b'{"username": "a", "password": ', "application/json", 422),       # cut off
    (b"\xff\xfe{}", "application/json", 422),                            # not UTF-8
    (b'{"username": "a", "password": "b"}', "text/plain", 422),         # JSON under another type
    (b"username=a&password=b", "application/x-www-form-urlencoded", 422),
    (b"[" * 100_000 + b"]" * 100_000, "application/json", 400),          # nested past the parser's depth
    (b'{"username": "a", "password": "' + b"p" * 5000 + b'"}', "application/json", 422),  # over max_length
])
def test_a_malformed_or_mistyped_body_is_a_json_4xx_that_does_not_echo_it(
        client: TestClient, body: bytes, ctype: str, status: int) -> None:
    r = client.post("/v1/session", content=body, headers={"content-type": ctype})
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["status"] == status and err["message"]
    assert "p" * 100 not in r.text and "username=a" not in r.text


def test_a_content_length_that_is_not_a_number_is_400(client: TestClient) -> None:
    r = client.post("/v1/session", content=b"{}", headers={"content-type": "application/json",
                                                          "content-length": "lots"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"


def test_headers_over_the_limit_are_a_json_431(client: TestClient) -> None:
    r = client.get("/healthz", headers={"x-padding": "a" * (40 << 10)})
    assert r.status_code == 431 and r.json()["error"]["code"] == "headers_too_large"
    assert r.headers["x-frame-options"] == "DENY"


def test_a_real_server_refuses_a_megabyte_of_headers_with_a_4xx_and_closes(serve_ctx: ServeContext) -> None:
    with serving(create_app(context=serve_ctx), serve_ctx.settings) as base:
        for size in (40 << 10, 1 << 20):
            answer, _ = _raw_upload(base, b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Pad: " + b"a" * size + b"\r\n\r\n",
                                    iter([]))
            status = int(answer.split(b" ", 2)[1])
            assert 400 <= status < 500, answer[:200]
