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


def verify(secret: str | None, code: str, last_step: int, now: float | None = None) -> int | None:
    """The time step the code belongs to (±1 step of drift), or ``None``. A step at or before
    ``last_step`` is refused, so an observed code cannot be replayed."""
    import hmac

    import pyotp

    if not secret:
        return None
    code = (code or "").strip().replace(" ", "")
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    t = time.time() if now is None else now
    current = int(t // PERIOD)
    for step in (current - 1, current, current + 1):
        if step <= last_step:
            continue
        if hmac.compare_digest(totp.at(step * PERIOD), code):
            return step
    return None


def qr_text(uri: str) -> str:
    """The URI as a QR code drawn with text characters, for enrolment in a terminal."""
    import io

    import segno

    buf = io.StringIO()
    segno.make(uri, error="m").terminal(out=buf, compact=True)
    return buf.getvalue()
