"""``notify``: POST the alert to a webhook as Slack-compatible JSON (``text`` plus a ``blocks`` section).

Webhook URLs are credentials (anyone holding a Slack hook URL can post), so the URL is taken from an
environment variable by default and only ``scheme://host/…`` is ever printed or audited. The body holds
the alert's summary, not its evidence (evidence may contain secrets). A notification already delivered
for the same alert (same body, same hook, per the audit trail) is not sent again.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from cnsec.model.event import Alert
from cnsec.respond.actions.base import (
    Action,
    ActionContext,
    ActionFailed,
    ApplyResult,
    Change,
    Param,
    Skip,
)


def redact(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/…"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def message(alert: Alert, prefix: str) -> dict[str, Any]:
    threat = f" · threat {alert.threat_id}" if alert.threat_id else ""
    action = f" · action {alert.action}" if alert.action else ""
    text = (f"{prefix}[{alert.severity.label.upper()}] {alert.title} — key {alert.key}{threat}\n"
            f"rule {alert.rule_id} · {alert.count} event(s) {_iso(alert.first_seen)} → "
            f"{_iso(alert.last_seen)}{action}")
    if alert.attack_ids:
        text += f"\nATT&CK {', '.join(alert.attack_ids)}"
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


class Notify(Action):
    id = "notify"
    description = "POST the alert to a webhook (Slack-compatible JSON)"
    disruptive = False
    params = {
        "url": Param("str", None, "webhook URL (prefer url_env: URLs are credentials)"),
        "url_env": Param("str", "CNSEC_WEBHOOK_URL", "environment variable holding the webhook URL"),
        "timeout": Param("number", 5.0, "seconds before the POST is abandoned"),
        "prefix": Param("str", "cnsec: ", "text put before each message (e.g. a mention)"),
    }

    def validate(self, given: Any) -> dict[str, Any]:
        params = super().validate(given)
        if params["url"] is not None:
            _check_url(params["url"])
        if params["timeout"] <= 0:
            raise ValueError("notify: timeout must be positive")
        return params

    def plan(self, alert: Alert, params: dict[str, Any], ctx: ActionContext) -> list[Change]:
        url = params["url"] or ctx.env.get(params["url_env"] or "", "")
        if not url:
            raise Skip(f"no webhook URL (set the url parameter or ${params['url_env']})")
        try:
            _check_url(url)
        except ValueError as exc:
            raise Skip(str(exc)) from None
        body = message(alert, params["prefix"])
        number = ctx.state["notify-count"] = ctx.state.get("notify-count", 0) + 1
        return [Change(
            action=self.id, kind="webhook", target=f"POST {redact(url)}", subject=alert.key,
            description=f"notify {redact(url)} about {alert.rule_id} for {alert.key}",
            artifact=json.dumps(body, indent=2, ensure_ascii=False) + "\n",
            artifact_name=f"notify-{number:04d}.json",
            data={"url": url, "body": body, "timeout": params["timeout"]})]

    def in_effect(self, change: Change, ctx: ActionContext) -> bool:
        return change.change_id in ctx.applied_change_ids

    def apply(self, change: Change, ctx: ActionContext) -> ApplyResult:
        url = change.data["url"]
        payload = json.dumps(change.data["body"], ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(url, data=payload, method="POST",  # noqa: S310 - scheme checked
                                         headers={"Content-Type": "application/json; charset=utf-8",
                                                  "User-Agent": "cnsec-respond"})
        try:
            with urllib.request.urlopen(request, timeout=change.data["timeout"]) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as exc:
            raise ActionFailed(f"webhook {redact(url)} answered HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ActionFailed(f"webhook {redact(url)} unreachable: {reason}") from None
        if not 200 <= status < 300:
            raise ActionFailed(f"webhook {redact(url)} answered HTTP {status}")
        return ApplyResult(True, f"delivered to {redact(url)} (HTTP {status})")


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"notify: webhook URL must be http(s)://host/…, got {redact(url)}")


ACTION = Notify()
