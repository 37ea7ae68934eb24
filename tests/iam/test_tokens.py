from __future__ import annotations

import jwt
import pytest

from cnsec.iam.store import IamStore
from cnsec.iam.tokens import TokenError, TokenService
from tests.iam.conftest import GOOD_PW, Clock


@pytest.fixture
def tokens(store: IamStore) -> TokenService:
    store.add_user("mary", GOOD_PW, ["admin"])
    return TokenService(store)


def test_access_token_is_eddsa_signed_with_a_kid(tokens: TokenService) -> None:
    header = jwt.get_unverified_header(tokens.issue("mary").access_token)
    assert header["alg"] == "EdDSA" and header["kid"]


def test_valid_token_verifies_with_subject_and_roles(tokens: TokenService) -> None:
    claims = tokens.verify(tokens.issue("mary").access_token)
    assert claims["sub"] == "mary" and claims["roles"] == ["admin"]


def test_expired_token_is_refused(tokens: TokenService, clock: Clock) -> None:
    import time

    tokens.access_ttl = -60
    pair = tokens.issue("mary")
    assert pair.access_token and clock.t < time.time() + 1e9
    with pytest.raises(TokenError, match="expired"):
        tokens.verify(pair.access_token)


def test_token_for_another_audience_is_refused(store: IamStore, tokens: TokenService) -> None:
    other = TokenService(store, audience="someone-else")
    with pytest.raises(TokenError, match="audience"):
        tokens.verify(other.issue("mary").access_token)


def test_tampered_token_is_refused(tokens: TokenService) -> None:
    token = tokens.issue("mary").access_token
    head, body, sig = token.split(".")
    with pytest.raises(TokenError):
        tokens.verify(f"{head}.{body}.{sig[:-4]}AAAA")


def test_tokens_signed_before_rotation_still_verify(tokens: TokenService) -> None:
    old = tokens.issue("mary").access_token
    tokens.rotate_key()
    new = tokens.issue("mary").access_token
    assert jwt.get_unverified_header(old)["kid"] != jwt.get_unverified_header(new)["kid"]
    assert tokens.verify(old)["sub"] == tokens.verify(new)["sub"] == "mary"


def test_retired_key_no_longer_verifies(tokens: TokenService) -> None:
    token = tokens.issue("mary").access_token
    tokens.retire_key(jwt.get_unverified_header(token)["kid"])
    with pytest.raises(TokenError, match="retired"):
        tokens.verify(token)


def test_refresh_rotates_the_refresh_token(tokens: TokenService) -> None:
    first = tokens.issue("mary")
    second = tokens.refresh(first.refresh_token)
    assert second.refresh_token != first.refresh_token
    assert tokens.verify(second.access_token)["sub"] == "mary"


def test_reused_refresh_token_revokes_the_whole_family(tokens: TokenService) -> None:
    first = tokens.issue("mary")
    second = tokens.refresh(first.refresh_token)
    with pytest.raises(TokenError, match="family"):
        tokens.refresh(first.refresh_token)
    with pytest.raises(TokenError):
        tokens.refresh(second.refresh_token)


def test_user_revocation_takes_effect_immediately(store: IamStore, tokens: TokenService, clock: Clock) -> None:
    pair = tokens.issue("mary")
    clock.advance(1)
    store.revoke_user_tokens("mary")
    with pytest.raises(TokenError, match="revoked"):
        tokens.verify(pair.access_token)
    with pytest.raises(TokenError):
        tokens.refresh(pair.refresh_token)


def test_single_token_revocation(tokens: TokenService) -> None:
    token = tokens.issue("mary").access_token
    tokens.revoke(token)
    with pytest.raises(TokenError, match="revoked"):
        tokens.verify(token)


def test_disabling_a_user_invalidates_their_tokens(store: IamStore, tokens: TokenService) -> None:
    token = tokens.issue("mary").access_token
    store.disable_user("mary")
    with pytest.raises(TokenError, match="disabled"):
        tokens.verify(token)


def test_refresh_token_is_stored_only_as_a_hash(store: IamStore, tokens: TokenService) -> None:
    from sqlalchemy import text

    pair = tokens.issue("mary")
    with store.engine.connect() as conn:
        stored = conn.execute(text("SELECT token_hash FROM iam_refresh_tokens")).scalar_one()
    assert pair.refresh_token not in stored and len(stored) == 64


def test_token_from_another_issuer_is_refused(store: IamStore, tokens: TokenService) -> None:
    other = TokenService(store, issuer="someone-else")
    with pytest.raises(TokenError, match="issuer"):
        tokens.verify(other.issue("mary").access_token)


def test_refresh_token_reuse_also_revokes_the_access_tokens_of_its_family(tokens: TokenService) -> None:
    first = tokens.issue("mary")
    other = tokens.issue("mary")  # another session of the same user
    second = tokens.refresh(first.refresh_token)
    with pytest.raises(TokenError, match="family"):
        tokens.refresh(first.refresh_token)  # the stolen one is presented again
    for access in (first.access_token, second.access_token):
        with pytest.raises(TokenError, match="family was revoked"):
            tokens.verify(access)
    assert tokens.verify(other.access_token)["sub"] == "mary"

