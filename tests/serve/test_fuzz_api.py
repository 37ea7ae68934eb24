"""Schemathesis against the published spec: every operation of /v1/openapi.json, inputs that fit it and
inputs that do not, as an admin (bearer token) and with no credential, over a real uvicorn on loopback.

No answer may be a 5xx, and every 4xx must be the one JSON error shape with a message. The operations
are read from the spec at run time, so a route added by any part is fuzzed without touching this file;
a route the app has but the spec lacks fails :func:`test_every_api_route_is_in_the_spec_the_fuzzer_reads`.
The budget is fixed (examples per operation, a fixed seed): the same requests on every run, in CI too.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
from fastapi import FastAPI
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode

from cnsec.serve.app import all_routes, create_app
from cnsec.serve.context import ServeContext
from tests.serve.conftest import bearer
from tests.serve.live import serving


@schemathesis.serializer("application/x-ndjson")
def _ndjson(_ctx: Any, value: Any) -> bytes:
    """JSON lines (POST /v1/ingest/events): a string as it is, anything else one line of JSON."""
    return value.encode() if isinstance(value, str) else json.dumps(value).encode()


#: Examples per operation and generation mode; each is sent twice (admin, anonymous). A deeper run:
#: CNSEC_FUZZ_EXAMPLES=200 pytest tests/serve/test_fuzz_api.py
EXAMPLES = int(os.environ.get("CNSEC_FUZZ_EXAMPLES", "10"))


@dataclass
class Answer:
    who: str
    method: str
    path: str
    status: int
    body: str


def problem(status: int, content_type: str, content: bytes) -> str | None:
    """What is wrong with an answer, or None: a 5xx, or a 4xx that is not the JSON error shape."""
    if status >= 500:
        return "server error"
    if status < 400:
        return None
    if not content_type.startswith("application/json"):
        return f"a {status} that is not JSON"
    try:
        err = json.loads(content)["error"]
    except (ValueError, KeyError, TypeError):
        return "not the error shape"
    if not isinstance(err, dict) or err.get("status") != status or not isinstance(err.get("code"), str):
        return "the error's status or code is wrong"
    if not isinstance(err.get("message"), str) or not err["message"].strip():
        return "the error has no message"
    return None


def test_the_shape_check_sees_a_5xx_a_bare_4xx_and_a_4xx_without_a_message() -> None:
    js = "application/json"
    assert problem(502, js, b"{}") == "server error"
    assert problem(400, "text/plain", b"Invalid HTTP request received.") is not None
    assert problem(404, js, b'{"error": {"status": 404, "code": "x", "message": ""}}') is not None
    assert problem(404, js, b'{"detail": "Not Found"}') == "not the error shape"
    assert problem(404, js, b'{"error": {"status": 404, "code": "x", "message": "no such"}}') is None


def test_no_operation_answers_5xx_and_every_4xx_is_the_json_error_with_a_message(
        serve_ctx: ServeContext, role_users: dict[str, str]) -> None:
    app = create_app(context=serve_ctx)
    bad: list[tuple[str, Answer]] = []
    seen: dict[str, int] = {}
    session = requests.Session()
    with serving(app, serve_ctx.settings) as url:
        schema = schemathesis.openapi.from_url(f"{url}/v1/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert operations, "the spec has no operations"
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

                @given(case=operation.as_strategy(generation_mode=mode))
                @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                          phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
                def send(case: Any) -> None:
                    for who, headers in (("admin", bearer(role_users["admin"])), ("anonymous", {})):
                        r = case.call(base_url=url, session=session, headers=headers, timeout=30)
                        key = f"{case.method} {case.path}"
                        seen[key] = seen.get(key, 0) + 1
                        ctype = (r.headers.get("content-type") or [""])[0]
                        why = problem(r.status_code, ctype, r.content)
                        if why:
                            bad.append((why, Answer(who, case.method, case.formatted_path, r.status_code,
                                                    r.content[:300].decode(errors="replace"))))

                try:
                    send()
                except Unsatisfiable:
                    assert mode is GenerationMode.NEGATIVE, f"{operation.label}: no valid input can be made"
                    # nothing of this operation can be made invalid (no parameters, no body)
    assert not bad, f"{len(bad)} bad answers, first ones: {bad[:5]}"
    spec_ops = {f"{op.method.upper()} {op.path}" for op in operations}
    assert set(seen) == spec_ops, f"operations never called: {spec_ops - set(seen)}"


def test_every_api_route_is_in_the_spec_the_fuzzer_reads(app: FastAPI) -> None:
    """A route left out of the spec would be left out of the fuzzing: only the dashboard's pages (HTML,
    under /ui) may stay out."""
    spec = app.openapi()["paths"]
    routes = [r for r in all_routes(app) if isinstance(r, APIRoute)]
    assert any(r.path == "/v1/session" for r in routes)
    missing = [(r.path, sorted(r.methods)) for r in routes
               if isinstance(r, APIRoute) and not r.path.startswith("/ui")
               and not all(m.lower() in spec.get(r.path, {}) for m in r.methods - {"HEAD"})]
    assert missing == []


@pytest.mark.parametrize("path", ["/v1/openapi.json"])
def test_the_spec_itself_is_valid_openapi(client: Any, path: str) -> None:
    from schemathesis.openapi import from_dict

    spec = client.get(path).json()
    schema = from_dict(spec)
    assert [r.ok() for r in schema.get_all_operations()]
