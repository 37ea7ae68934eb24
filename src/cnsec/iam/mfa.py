"""TOTP (RFC 6238) second factor with pyotp: enrolment URI, terminal QR code, replay-safe checks."""

from __future__ import annotations

import time

ISSUER = "cnsec"
PERIOD = 30


def new_secret() -> str:
    import pyotp

    return str(pyotp.random_base32())


def provisioning_uri(secret: str, username: str, issuer: str = ISSUER) -> str:
    import pyotp

    return str(pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer))


def _matching_steps(secret: str | None, code: str, now: float | None) -> list[int]:
    """The time steps within ±1 step of drift whose code is ``code`` (compared in constant time)."""
    import hmac

    import pyotp

    code = (code or "").strip().replace(" ", "")
    if not secret or not code.isdigit() or len(code) != 6:
        return []
    totp = pyotp.TOTP(secret)
    current = int((time.time() if now is None else now) // PERIOD)
    return [step for step in (current - 1, current, current + 1)
            if hmac.compare_digest(totp.at(step * PERIOD), code)]


def verify(secret: str | None, code: str, last_step: int, now: float | None = None) -> int | None:
    """The time step the code belongs to (±1 step of drift), or ``None``. A step at or before
    ``last_step`` is refused, so an observed code cannot be replayed. The caller still has to claim
    the step atomically (two logins may race with one code)."""
    return next((step for step in _matching_steps(secret, code, now) if step > last_step), None)


def replayed(secret: str | None, code: str, last_step: int, now: float | None = None) -> bool:
    """The code is right but for a step already used: say so rather than "wrong code"."""
    return any(step <= last_step for step in _matching_steps(secret, code, now))


def qr_text(uri: str) -> str:
    """The URI as a QR code drawn with text characters, for enrolment in a terminal."""
    import io

    import segno

    buf = io.StringIO()
    segno.make(uri, error="m").terminal(out=buf, compact=True)
    return buf.getvalue()
