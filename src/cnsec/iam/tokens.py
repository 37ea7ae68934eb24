"""Signed access tokens (EdDSA/Ed25519 JWTs with ``kid``) and rotating refresh tokens.

* Access tokens are short-lived (5 minutes by default); issuer and audience are checked; the
  signing key is picked by ``kid`` so keys rotate without breaking tokens already issued. A token is
  also refused when its ``jti`` was revoked or it was issued before the user's ``tokens_valid_after``
  (set by ``tokens revoke``, ``users disable`` and password changes): revocation is immediate.
* Refresh tokens are opaque random strings; only their SHA-256 is stored. Each use returns a new one
  in the same family; presenting an already-used one is treated as theft and revokes the family.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update

from cnsec.errors import CnsecError
from cnsec.iam.store import IamStore
from cnsec.store import schema

ISSUER = "cnsec"
AUDIENCE = "cnsec-api"
ALGORITHM = "EdDSA"
ACCESS_TTL = 300.0
REFRESH_TTL = 8 * 3600.0
LEEWAY = 5.0


class TokenError(CnsecError):
    exit_code = 1


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret

    def to_dict(self) -> dict[str, Any]:
        return {"access_token": self.access_token, "refresh_token": self.refresh_token,
                "token_type": self.token_type, "expires_in": self.expires_in}


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenService:
    def __init__(self, store: IamStore, *, issuer: str = ISSUER, audience: str = AUDIENCE,
                 access_ttl: float = ACCESS_TTL, refresh_ttl: float = REFRESH_TTL) -> None:
        self.store = store
        self.issuer = issuer
        self.audience = audience
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl

    # -- keys -----------------------------------------------------------------------------------------
    def rotate_key(self, actor: str = "cli", only_if_none: bool = False) -> str:
        """A new active signing key; older keys stay valid for verification until retired.
        ``only_if_none``: the first login's implicit key, created once however many logins race."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        key = Ed25519PrivateKey.generate()
        pub_raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        kid = hashlib.sha256(pub_raw).hexdigest()[:16]
        priv_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()).decode()
        pub_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        from sqlalchemy import func

        with self.store.transaction() as conn:
            if only_if_none:
                active = conn.execute(select(schema.signing_keys.c.kid)
                                      .where(schema.signing_keys.c.retired_at.is_(None)).limit(1)).first()
                if active is not None:
                    return str(active[0])
            latest = conn.execute(select(func.max(schema.signing_keys.c.created_at))).scalar()
            created = self.store.clock()
            if latest is not None and created <= latest:
                created = latest + 1e-3  # the newest key must sort last even within one clock tick
            conn.execute(insert(schema.signing_keys).values(
                kid=kid, algorithm=ALGORITHM, private_pem=priv_pem, public_pem=pub_pem,
                created_at=created, retired_at=None))
            self.store.audit_in(conn, "key-rotate", actor, kid, "local", "success")
        return kid

    def retire_key(self, kid: str, actor: str = "cli") -> None:
        with self.store.transaction() as conn:
            n = conn.execute(update(schema.signing_keys).where(schema.signing_keys.c.kid == kid)
                             .values(retired_at=self.store.clock())).rowcount
            if not n:
                raise CnsecError(f"no signing key {kid!r}")
            self.store.audit_in(conn, "key-retire", actor, kid, "local", "success")

    def keys(self) -> list[dict[str, Any]]:
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(schema.signing_keys.c.kid, schema.signing_keys.c.algorithm,
                                       schema.signing_keys.c.created_at, schema.signing_keys.c.retired_at)
                                .order_by(schema.signing_keys.c.created_at)).mappings().all()
        return [dict(r) for r in rows]

    def _active_key(self) -> tuple[str, str]:
        with self.store.engine.connect() as conn:
            row = conn.execute(select(schema.signing_keys.c.kid, schema.signing_keys.c.private_pem)
                               .where(schema.signing_keys.c.retired_at.is_(None))
                               .order_by(schema.signing_keys.c.created_at.desc())).first()
        if row is None:
            self.rotate_key(actor="system", only_if_none=True)
            return self._active_key()
        return str(row[0]), str(row[1])

    def _public_key(self, kid: str) -> str | None:
        with self.store.engine.connect() as conn:
            row = conn.execute(select(schema.signing_keys.c.public_pem)
                               .where((schema.signing_keys.c.kid == kid)
                                      & schema.signing_keys.c.retired_at.is_(None))).first()
        return str(row[0]) if row else None

    # -- issuing --------------------------------------------------------------------------------------
    def _access_token(self, username: str, roles: tuple[str, ...], now: float, family: str) -> str:
        """``family`` (the ``fam`` claim) is the refresh-token family issued with it: when reuse revokes it (a
        stolen refresh token), the access tokens of that family stop verifying too."""
        import jwt

        kid, priv = self._active_key()
        claims = {"iss": self.issuer, "aud": self.audience, "sub": username, "iat": int(now),
                  "nbf": int(now), "exp": int(now + self.access_ttl), "jti": uuid.uuid4().hex,
                  "roles": list(roles), "typ": "access", "iat_precise": now, "fam": family}
        return str(jwt.encode(claims, priv, algorithm=ALGORITHM, headers={"kid": kid, "typ": "JWT"}))

    def _refresh_token(self, conn: Any, username: str, family: str, now: float) -> str:
        token = "cnsr_" + secrets.token_urlsafe(32)
        conn.execute(insert(schema.refresh_tokens).values(
            token_hash=_sha(token), family=family, username=username, issued_at=now,
            expires_at=now + self.refresh_ttl, used_at=None, revoked=False))
        return token

    def issue(self, username: str, source: str = "local") -> TokenPair:
        """Tokens for a user who has just authenticated (see :meth:`IamStore.authenticate`)."""
        user = self.store.require_user(username)
        now = self.store.clock()
        family = uuid.uuid4().hex
        access = self._access_token(username, user.roles, now, family)
        with self.store.transaction() as conn:
            refresh = self._refresh_token(conn, username, family, now)
            self.store.audit_in(conn, "token-issue", username, username, source, "success")
        return TokenPair(access, refresh, int(self.access_ttl))

    def refresh(self, refresh_token: str, source: str = "local") -> TokenPair:
        """Rotate: the presented token is spent and a new pair returned. Reuse revokes the family."""
        now = self.store.clock()
        h = _sha(refresh_token.strip())
        with self.store.transaction() as conn:
            row = conn.execute(select(schema.refresh_tokens).where(schema.refresh_tokens.c.token_hash == h)
                               ).mappings().first()
            if row is None:
                self.store.audit_in(conn, "token-refresh", "unknown", "unknown", source, "failure",
                                  {"reason": "unknown-token"})
                raise TokenError("invalid refresh token")
            user = row["username"]
            if row["used_at"] is not None or row["revoked"]:
                n = conn.execute(update(schema.refresh_tokens).where(
                    (schema.refresh_tokens.c.family == row["family"])
                    & schema.refresh_tokens.c.revoked.is_(False)).values(revoked=True)).rowcount
                reason = "reuse-detected" if row["used_at"] is not None else "revoked"
                self.store.audit_in(conn, "token-refresh", user, user, source, "failure",
                                  {"reason": reason, "family_revoked": int(n or 0)})
        if row["used_at"] is not None or row["revoked"]:
            if row["used_at"] is not None:
                raise TokenError("refresh token already used: the whole token family has been revoked")
            raise TokenError("refresh token revoked")
        with self.store.engine.connect() as conn:
            urow = self.store._user_row(conn, user)
        with self.store.transaction() as conn:
            if row["expires_at"] <= now or urow is None or urow["disabled"] or urow["locked"] \
                    or row["issued_at"] < urow["tokens_valid_after"]:
                self.store.audit_in(conn, "token-refresh", user, user, source, "failure", {"reason": "expired"})
                failed = True
            else:
                spent = conn.execute(update(schema.refresh_tokens).where(
                    (schema.refresh_tokens.c.token_hash == h) & schema.refresh_tokens.c.used_at.is_(None)
                    & schema.refresh_tokens.c.revoked.is_(False)).values(used_at=now)).rowcount
                failed = not spent
                if failed:  # spent by a concurrent request in the meantime: that is reuse too
                    conn.execute(update(schema.refresh_tokens).where(
                        schema.refresh_tokens.c.family == row["family"]).values(revoked=True))
                    self.store.audit_in(conn, "token-refresh", user, user, source, "failure",
                                      {"reason": "reuse-detected"})
                else:
                    new_refresh = self._refresh_token(conn, user, row["family"], now)
                    self.store.audit_in(conn, "token-refresh", user, user, source, "success")
        if failed:
            raise TokenError("refresh token expired or no longer valid: log in again")
        roles = self.store.require_user(user).roles
        return TokenPair(self._access_token(user, roles, now, row["family"]), new_refresh, int(self.access_ttl))

    # -- verifying ------------------------------------------------------------------------------------
    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a valid access token; :class:`TokenError` saying why otherwise."""
        import jwt

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenError("malformed token") from None
        kid = header.get("kid")
        if not isinstance(kid, str) or header.get("alg") != ALGORITHM:
            raise TokenError("token has no key id or an unexpected algorithm")
        pub = self._public_key(kid)
        if pub is None:
            raise TokenError("token signed with an unknown or retired key")
        try:
            # times are checked below against the store's clock (the same one that issued them)
            claims: dict[str, Any] = jwt.decode(
                token, pub, algorithms=[ALGORITHM], audience=self.audience, issuer=self.issuer,
                options={"require": ["exp", "iat", "nbf", "sub", "jti", "iss", "aud"],
                         "verify_exp": False, "verify_iat": False, "verify_nbf": False})
        except jwt.InvalidAudienceError:
            raise TokenError("token is for another audience") from None
        except jwt.InvalidIssuerError:
            raise TokenError("token is from another issuer") from None
        except jwt.PyJWTError as exc:
            raise TokenError(f"invalid token: {exc}") from None
        now = self.store.clock()
        try:
            exp, nbf = float(claims["exp"]), float(claims["nbf"])
        except (TypeError, ValueError):
            raise TokenError("invalid token: bad time claims") from None
        if now >= exp + LEEWAY:
            raise TokenError("token expired")
        if now + LEEWAY < nbf:
            raise TokenError("token not valid yet")
        if claims.get("typ") != "access":
            raise TokenError("not an access token")
        rt = schema.refresh_tokens
        with self.store.engine.connect() as conn:
            urow = self.store._user_row(conn, str(claims["sub"]))
            revoked = conn.execute(select(schema.revoked_tokens.c.jti)
                                   .where(schema.revoked_tokens.c.jti == claims["jti"])).first()
            family_revoked = "fam" in claims and conn.execute(
                select(rt.c.token_hash).where((rt.c.family == str(claims["fam"])) & rt.c.revoked.is_(True))
                .limit(1)).first() is not None
        if urow is None or urow["disabled"]:
            raise TokenError("the token's user is disabled or gone")
        issued = float(claims.get("iat_precise", claims["iat"]))
        if revoked is not None or issued < float(urow["tokens_valid_after"]):
            raise TokenError("token revoked")
        if family_revoked:
            raise TokenError("token revoked: its refresh-token family was revoked (refresh token reuse)")
        return claims

    def revoke(self, token: str, actor: str = "cli") -> str:
        """Revoke one access token (by its ``jti``) until it would have expired anyway."""
        claims = self.verify(token)
        with self.store.transaction() as conn:
            if conn.execute(select(schema.revoked_tokens.c.jti)  # revoked in parallel: once is enough
                            .where(schema.revoked_tokens.c.jti == claims["jti"])).first() is None:
                conn.execute(insert(schema.revoked_tokens).values(jti=claims["jti"], username=claims["sub"],
                                                                  expires_at=float(claims["exp"])))
            self.store.audit_in(conn, "token-revoke", actor, str(claims["sub"]), "local", "success",
                              {"jti": claims["jti"]})
        return str(claims["jti"])
