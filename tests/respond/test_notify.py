from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from cnsec.respond.audit import AuditTrail
from tests.respond.conftest import PlaybookFactory, Runner, loaded, make_alert

PLAYBOOK = """
rules:
  - name: tell
    match: {severity: medium}
    do:
      - notify: {timeout: 1}
"""


class Hook:
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.status = 200
        self.delay = 0.0


@pytest.fixture
def hook() -> Iterator[tuple[Hook, str]]:
    state = Hook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append(json.loads(body))
            state.headers.append(dict(self.headers))
            time.sleep(state.delay)
            try:
                self.send_response(state.status)
                self.end_headers()
                self.wfile.write(b"ok")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (the timeout test)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/secret-token"
    yield state, url
    server.shutdown()
    server.server_close()


def test_the_webhook_receives_slack_compatible_json(playbook: PlaybookFactory, respond: Runner,
                                                    hook: tuple[Hook, str]) -> None:
    state, url = hook
    result = respond(playbook(PLAYBOOK), loaded(make_alert("203.0.113.7")), apply=True,
                     env={"CNSEC_WEBHOOK_URL": url})
    assert result.counts() == {"applied": 1}
    [body] = state.received
    assert "[HIGH]" in body["text"] and "203.0.113.7" in body["text"] and "denial-of-service" in body["text"]
    assert body["blocks"][0] == {"type": "section", "text": {"type": "mrkdwn", "text": body["text"]}}
    assert state.headers[0]["Content-Type"].startswith("application/json")


def test_the_evidence_is_never_sent(playbook: PlaybookFactory, respond: Runner, hook: tuple[Hook, str]) -> None:
    state, url = hook
    alert = make_alert(evidence=[{"password": "hunter2-very-secret"}])
    respond(playbook(PLAYBOOK), loaded(alert), apply=True, env={"CNSEC_WEBHOOK_URL": url})
    [body] = state.received  # delivered: an empty list would pass the check below vacuously
    assert "hunter2" not in json.dumps(body)


def test_the_same_alert_is_not_notified_twice(playbook: PlaybookFactory, respond: Runner,
                                              hook: tuple[Hook, str]) -> None:
    state, url = hook
    respond(playbook(PLAYBOOK), loaded(make_alert()), apply=True, env={"CNSEC_WEBHOOK_URL": url})
    again = respond(playbook(PLAYBOOK), loaded(make_alert()), apply=True, env={"CNSEC_WEBHOOK_URL": url})
    assert again.counts() == {"unchanged": 1}
    assert len(state.received) == 1


def test_an_error_status_is_a_failed_decision(playbook: PlaybookFactory, respond: Runner,
                                              hook: tuple[Hook, str]) -> None:
    state, url = hook
    state.status = 500
    result = respond(playbook(PLAYBOOK), loaded(make_alert()), apply=True, env={"CNSEC_WEBHOOK_URL": url})
    [decision] = result.decisions
    assert decision.outcome == "failed" and "HTTP 500" in decision.reason


def test_a_slow_webhook_times_out_as_a_failure(playbook: PlaybookFactory, respond: Runner,
                                               hook: tuple[Hook, str]) -> None:
    state, url = hook
    state.delay = 2.0
    started = time.monotonic()
    result = respond(playbook(PLAYBOOK), loaded(make_alert()), apply=True, env={"CNSEC_WEBHOOK_URL": url})
    assert result.decisions[0].outcome == "failed"
    assert time.monotonic() - started < 1.9


def test_an_unreachable_webhook_is_a_failure(playbook: PlaybookFactory, respond: Runner) -> None:
    result = respond(playbook(PLAYBOOK), loaded(make_alert()), apply=True,
                     env={"CNSEC_WEBHOOK_URL": "http://127.0.0.1:9/hook"})
    assert result.decisions[0].outcome == "failed" and "unreachable" in result.decisions[0].reason


def test_the_webhook_url_path_never_reaches_the_output_or_the_audit(
        playbook: PlaybookFactory, respond: Runner, hook: tuple[Hook, str], audit: AuditTrail) -> None:
    _, url = hook
    result = respond(playbook(PLAYBOOK), loaded(make_alert()), apply=True, env={"CNSEC_WEBHOOK_URL": url})
    assert result.counts() == {"applied": 1}  # the hook was really used, so the check below means something
    shown = json.dumps([d.to_dict() for d in result.decisions]) + audit.path.read_text()
    assert "secret-token" not in shown


def test_no_url_means_skipped_with_the_reason(playbook: PlaybookFactory, respond: Runner) -> None:
    result = respond(playbook(PLAYBOOK), loaded(make_alert()), apply=True, env={})
    assert result.decisions[0].outcome == "skipped"
    assert "CNSEC_WEBHOOK_URL" in result.decisions[0].reason


def test_only_http_urls_are_accepted(playbook: PlaybookFactory) -> None:
    from cnsec.errors import InputError

    with pytest.raises(InputError, match=r"playbook\.yaml:6: notify: webhook URL must be http"):
        playbook(PLAYBOOK.replace("{timeout: 1}", "{url: 'file:///etc/passwd'}"))
