"""Every check has a pass fixture and a fail fixture, and behaves on both.

Fixtures live in ``fixtures/<CHECK-ID>/``: files named ``pass*`` must raise no finding of that
check, files named ``fail*`` at least one; neither may produce an input error.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cnsec.assess.checks.base import registry
from cnsec.assess.config import Config, parse_config
from cnsec.assess.engine import assess

FIXTURES = Path(__file__).parent / "fixtures"
CHECK_IDS = sorted(registry())


def _config(path: Path) -> Config:
    """A fixture folder may carry its own ``.cnsec.yaml`` (e.g. a registry allowlist)."""
    cfg = path.parent / ".cnsec.yaml"
    return parse_config(cfg.read_text(), str(cfg)) if cfg.is_file() else Config()


def _fixtures(check_id: str, prefix: str) -> list[Path]:
    folder = FIXTURES / check_id
    return sorted(p for p in folder.glob(f"{prefix}*") if p.is_file()) if folder.is_dir() else []


@pytest.mark.parametrize("check_id", CHECK_IDS)
def test_check_has_pass_and_fail_fixtures(check_id: str) -> None:
    assert _fixtures(check_id, "pass"), f"{check_id}: add fixtures/{check_id}/pass.*"
    assert _fixtures(check_id, "fail"), f"{check_id}: add fixtures/{check_id}/fail.*"


@pytest.mark.parametrize("check_id", CHECK_IDS)
def test_fail_fixture_raises_the_check(check_id: str) -> None:
    for path in _fixtures(check_id, "fail"):
        report = assess([str(path)], _config(path), only={check_id})
        assert not report.errors, [str(e) for e in report.errors]
        hits = [f for f in report.findings if f.check_id == check_id]
        assert hits, f"{path.name} should raise {check_id}"
        assert all(f.source.line for f in hits), "every finding has a line"


@pytest.mark.parametrize("check_id", CHECK_IDS)
def test_pass_fixture_is_clean(check_id: str) -> None:
    for path in _fixtures(check_id, "pass"):
        report = assess([str(path)], _config(path), only={check_id})
        assert not report.errors, [str(e) for e in report.errors]
        hits = [f"{f.source}: {f.message}" for f in report.findings if f.check_id == check_id]
        assert not hits, f"{path.name} should not raise {check_id}: {hits}"


def test_every_check_declares_metadata_a_user_needs() -> None:
    for c in registry().values():
        assert c.title and c.remediation and c.threats and c.control, c.id
        assert c.description, f"{c.id}: the function docstring says why the check matters"
        assert c.id.startswith(("CNSEC-K8S-", "CNSEC-DKR-", "CNSEC-TF-", "CNSEC-CFG-")), c.id
