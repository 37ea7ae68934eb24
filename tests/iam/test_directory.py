from __future__ import annotations

from cnsec.iam import directory
from cnsec.iam.store import IamStore
from cnsec.iam.tokens import TokenService
from tests.iam.conftest import GOOD_PW


def test_disable_user_reports_what_changed(store: IamStore) -> None:
    store.add_user("john", GOOD_PW)
    assert directory.disable_user("john", store.url) == "user john disabled, tokens revoked"
    assert directory.disable_user("john", store.url) == "user john was already disabled"


def test_revoke_tokens_counts_live_refresh_tokens(store: IamStore) -> None:
    store.add_user("john", GOOD_PW)
    TokenService(store).issue("john")
    assert "1 refresh token(s) revoked" in directory.revoke_tokens("john", store.url)


def test_open_directory_gives_the_object_form(store: IamStore) -> None:
    store.add_user("john", GOOD_PW)
    d = directory.open_directory(store.url)
    assert d.disable_user("john") is True and d.disable_user("john") is False
    assert d.revoke_tokens("john") == 0
