"""Who may do what on the account pages: viewer < editor < admin < owner."""

import pytest
from sqlalchemy import func, select

from tests.factories import make_user
from webapp.accounts import tokens as accounts_tokens
from webapp.extensions import db
from webapp.models import Account, ApiToken, User

ROLES = ("viewer", "editor", "admin", "owner")
SETTINGS = {"name": "Renamed", "time_zone": "Europe/Amsterdam", "language": "en", "default_sender": ""}


def allowed(role: str, needed: str) -> bool:
    return ROLES.index(role) >= ROLES.index(needed)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("url", ["/users", "/tokens"])
def test_admin_pages(browser, role, url):
    me = browser(role)
    response = me.get(url)
    assert response.status_code == (200 if allowed(role, "admin") else 403)


@pytest.mark.parametrize("role", ROLES)
def test_everyone_sees_the_account_page(browser, role):
    assert browser(role).get("/account").status_code == 200


@pytest.mark.parametrize("role", ROLES)
def test_only_owners_save_account_settings(browser, role):
    me = browser(role)
    response = me.post("/account/settings", SETTINGS)
    name = db.session.get(Account, me.user.account_id).name
    if allowed(role, "owner"):
        assert response.status_code == 303
        assert name == "Renamed"
    else:
        assert response.status_code == 403
        assert name == "Acme"


@pytest.mark.parametrize("role", ROLES)
def test_only_admins_add_users(browser, role):
    me = browser(role)
    response = me.post("/users", {"email": "new@example.com", "role": "viewer", "password": "initial password"})
    created = db.session.scalar(select(User).where(User.email == "new@example.com"))
    if allowed(role, "admin"):
        assert response.status_code == 303
        assert created is not None
    else:
        assert response.status_code == 403
        assert created is None


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_viewers_and_editors_change_no_users(browser, role):
    me = browser(role)
    other = make_user(me.user.account, "viewer", email="other@example.com")
    assert me.post(f"/users/{other.id}/role", {"role": "admin"}, htmx=True).status_code == 403
    assert me.post(f"/users/{other.id}/delete", htmx=True).status_code == 403
    assert db.session.get(User, other.id).role == "viewer"


@pytest.mark.parametrize("role", ROLES)
def test_only_admins_manage_tokens(browser, role):
    me = browser(role)
    token, _secret = accounts_tokens.create_api_token(me.user.account, "Existing")
    created = me.post("/tokens", {"name": "New"})
    revoked = me.post(f"/tokens/{token.id}/revoke")
    count = db.session.scalar(select(func.count()).select_from(ApiToken))
    is_revoked = db.session.get(ApiToken, token.id).revoked_at is not None
    if allowed(role, "admin"):
        assert (created.status_code, revoked.status_code, count, is_revoked) == (200, 303, 2, True)
    else:
        assert (created.status_code, revoked.status_code, count, is_revoked) == (403, 403, 1, False)


@pytest.mark.parametrize("role", ROLES)
def test_the_menu_shows_what_a_role_may_open(browser, role):
    html = browser(role).get("/account").get_data(as_text=True)
    assert ('href="/users"' in html) == allowed(role, "admin")
    assert ('href="/tokens"' in html) == allowed(role, "admin")
    assert ('action="/account/settings"' in html) == allowed(role, "owner")
