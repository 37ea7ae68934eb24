"""What every request of one server shares: settings, the database engine, the IAM store and tokens,
and a short-lived cache of the role decisions.

A route gets it with ``Depends(context)``. Tests make one over a temporary database and hand it to
:func:`cnsec.serve.app.create_app`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import Request

from cnsec.serve.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from cnsec.iam import IamStore, TokenService

#: How long a compiled view of the roles is reused before it is read again (seconds). A role or user
#: change made through this server drops it at once (:meth:`ServeContext.roles_changed`); one made
#: by the CLI in another process is seen within this time. Token revocation is not cached.
AUTHZ_TTL = 1.0


@dataclass
class ServeContext:
    settings: Settings
    engine: Engine
    iam: IamStore
    tokens: TokenService
    started_at: float = field(default_factory=time.time)
    _authz: Any = None
    _authz_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    #: other parts of the server hang their state here by name (the ingest queue worker, metrics)
    parts: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def open(cls, settings: Settings, *, engine: Engine | None = None, clock: Any = None,
             ph: Any = None) -> ServeContext:
        """Open the store named by the settings (it must be at the code's schema: see ``cnsec serve``)."""
        from cnsec.iam import IamStore, TokenService
        from cnsec.store.engine import get_engine

        engine = engine or get_engine(settings.db_url)
        kwargs: dict[str, Any] = {"engine": engine}
        if clock is not None:
            kwargs["clock"] = clock
        if ph is not None:
            kwargs["ph"] = ph
        iam = IamStore(settings.db_url, **kwargs)
        return cls(settings=settings, engine=engine, iam=iam, tokens=TokenService(iam))

    def authorizer(self) -> Any:
        """The roles and users compiled for decisions, reused for :data:`AUTHZ_TTL` seconds."""
        now = time.monotonic()
        with self._lock:
            if self._authz is None or now - self._authz_at > AUTHZ_TTL:
                self._authz = self.iam.authorizer()
                self._authz_at = now
            return self._authz

    def roles_changed(self) -> None:
        with self._lock:
            self._authz = None


def context(request: Request) -> ServeContext:
    ctx: ServeContext = request.app.state.cnsec
    return ctx
