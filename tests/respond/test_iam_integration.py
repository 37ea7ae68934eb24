"""deny_access against the real cnsec IAM store, through its public directory (skips when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnsec.respond.actions.base import ActionContext
from cnsec.respond.audit import AuditTrail
from cnsec.respond.engine import Responder
from tests.respond.conftest import PlaybookFactory, loaded, make_alert


def test_deny_access_disables_a_user_in_the_real_iam_store(playbook: PlaybookFactory, tmp_path: Path) -> None:
    pytest.importorskip("cnsec.iam.directory", reason="the IAM store's directory is not available")
    from cnsec.iam.store import IamStore

    url = f"sqlite:///{tmp_path / 'iam.db'}"
    store = IamStore(url)
    store.init()
    store.add_user("alice", "correct-horse-battery-staple-42!")
    pb = playbook(f"""
rules:
  - name: deny
    do: [{{deny_access: {{via: [iam], store: "{url}"}}}}]
""")
    ctx = ActionContext(apply=True, env={})
    alert = make_alert("user=alice", threat_id="credential-abuse")
    first = Responder(pb, ctx, AuditTrail(tmp_path / "a.jsonl")).run(loaded(alert))
    assert first.counts() == {"applied": 1}, first.decisions[0].reason
    assert store.get_user("alice").disabled  # type: ignore[union-attr]
    again = Responder(pb, ActionContext(apply=True, env={}), AuditTrail(tmp_path / "a.jsonl")).run(loaded(alert))
    assert again.counts() == {"unchanged": 1}
