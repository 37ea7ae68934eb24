"""Races between separate clients of one IAM store, on SQLite and (with CNSEC_TEST_POSTGRES) PostgreSQL.

Each client has its own engine, so its own connections, as separate CLI processes would. Threads
start together at a barrier; argon2 and the database drivers release the GIL, so attempts really
overlap inside the database. ``CNSEC_RACE_RUNS`` (default 50) sets how many times each race runs.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cnsec.errors import CnsecError
from cnsec.iam import passwords
from cnsec.iam.store import IamStore
from cnsec.store.engine import dispose_all, new_engine, resolve_url
from tests.iam.conftest import Clock, _reset_postgres

RUNS = int(os.environ.get("CNSEC_RACE_RUNS", "50"))


@pytest.fixture(params=["sqlite", "postgres"])
def race_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "postgres":
        if not os.environ.get("CNSEC_TEST_POSTGRES"):
            pytest.skip("CNSEC_TEST_POSTGRES is not set (scripts/start-postgres.sh starts a throwaway server)")
        url = resolve_url(os.environ["CNSEC_TEST_POSTGRES"])
        dispose_all()
        _reset_postgres(url)
        yield url
    else:
        # tmpfs when there is one: the races are about locking, not about waiting for fsync
        with tempfile.TemporaryDirectory(dir="/dev/shm" if Path("/dev/shm").is_dir() else tmp_path) as d:
            yield f"sqlite:///{d}/iam.db"
    dispose_all()


@dataclass
class Outcome:
    kind: str  # "ok", "refused" (a CnsecError) or "error" (anything else: always a wrong outcome)
    text: str


class Clients:
    """``n`` stores on one database, each with its own engine, sharing a frozen clock."""

    def __init__(self, url: str, n: int) -> None:
        self.clock = Clock()
        ph = passwords.hasher(memory_kib=64, time_cost=1, parallelism=1)
        self.stores = [IamStore(url, clock=self.clock, ph=ph, engine=new_engine(url)) for _ in range(n)]
        self.admin = self.stores[0]
        self.admin.init()

    def race(self, calls: list[Callable[[IamStore], object]]) -> list[Outcome]:
        """Run ``calls[i](store i)`` in parallel threads released together."""
        barrier = threading.Barrier(len(calls))
        out = [Outcome("error", "did not run")] * len(calls)

        def run(i: int) -> None:
            barrier.wait()
            try:
                out[i] = Outcome("ok", str(calls[i](self.stores[i])))
            except CnsecError as exc:  # AuthError, TokenError: a refusal the user is told about
                out[i] = Outcome("refused", str(exc))
            except Exception as exc:
                out[i] = Outcome("error", f"{type(exc).__name__}: {exc}"[:300])

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return out

    def close(self) -> None:
        for store in self.stores:
            store.engine.dispose()


@pytest.fixture
def clients(race_url: str) -> Iterator[Callable[[int], Clients]]:
    made: list[Clients] = []

    def make(n: int) -> Clients:
        made.append(Clients(race_url, n))
        return made[-1]

    yield make
    for c in made:
        c.close()


def report(name: str, store: IamStore, wrong: list[str], runs: int = RUNS) -> str:
    """One line per race for the test output (run with -s) and the assertion message; the whole
    audit chain is verified here, once (a break it finds is a wrong outcome too)."""
    check = store.verify_audit_chain()
    wrong += [f"audit chain: {b}" for b in check.breaks]
    backend = store.url.split(":", 1)[0].split("+")[0]
    line = f"RACE {name} on {backend}: {runs} runs, {len(wrong)} wrong outcome(s)"
    print(line)
    return line + "".join(f"\n  {w}" for w in wrong[:5])
