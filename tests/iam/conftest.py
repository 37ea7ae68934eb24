from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cnsec.iam import passwords
from cnsec.iam.store import IamStore
from cnsec.store.engine import dispose_all

CORPORA = Path(__file__).resolve().parents[2] / "../shared/corpora"
GOOD_PW = "correct horse battery staple"


class Clock:
    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def _reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _urls() -> list[str]:
    urls = ["sqlite"]
    if os.environ.get("CNSEC_TEST_POSTGRES"):
        urls.append("postgres")
    return urls


@pytest.fixture(params=_urls())
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "postgres":
        from cnsec.store.engine import resolve_url

        url = resolve_url(os.environ["CNSEC_TEST_POSTGRES"])
        dispose_all()
        _reset_postgres(url)
    else:
        url = f"sqlite:///{tmp_path / 'iam.db'}"
    yield url
    dispose_all()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fast_ph() -> object:
    """A cheap argon2id hasher: tests exercise the logic, the benchmark measures the real cost."""
    return passwords.hasher(memory_kib=64, time_cost=1, parallelism=1)


@pytest.fixture
def store(db_url: str, clock: Clock, fast_ph: object) -> IamStore:
    s = IamStore(db_url, clock=clock, ph=fast_ph)
    s.init()
    return s
