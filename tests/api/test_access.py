"""Per-token scopes: a read token only reads; write and admin tokens change data."""

import pytest

from tests.api.conftest import Api
from webapp.accounts.tokens import create_api_token, scope_allows
from webapp.profiles import profiles
from webapp.profiles.events import Origin


@pytest.fixture
def profile(account, database):
    return profiles.create_profile(account, database.id, {"Email": "a@example.com"}, origin=Origin("admin"))


def api_with(app, account, scope: str) -> Api:
    _token, secret = create_api_token(account, f"{scope} token", scope)
    return Api(app.test_client(), secret)


def test_a_read_token_reads_but_never_writes(app, account, profile):
    reader = api_with(app, account, "read")
    assert reader.get(f"/profile/{profile.id}").status_code == 200
    response = reader.put(f"/profile/{profile.id}/fields", json={"Email": "b@example.com"})
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    assert reader.delete(f"/profile/{profile.id}").status_code == 403
    assert reader.get(f"/profile/{profile.id}/fields").get_json()["Email"] == "a@example.com"


@pytest.mark.parametrize("scope", ["write", "admin"])
def test_write_and_admin_tokens_change_profiles(app, account, profile, scope):
    writer = api_with(app, account, scope)
    assert writer.put(f"/profile/{profile.id}/fields", json={"Email": "b@example.com"}).status_code == 204
    assert writer.get(f"/profile/{profile.id}/fields").get_json()["Email"] == "b@example.com"


def test_scopes_include_the_ones_below():
    assert scope_allows("admin", "write") and scope_allows("write", "read")
    assert not scope_allows("read", "write") and not scope_allows("write", "admin")
    assert not scope_allows("bogus", "read")
