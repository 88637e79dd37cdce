"""The account page (own profile, password, account settings), users and API tokens."""

import hashlib
import json
import re

import pytest
from sqlalchemy import select

from tests.factories import PASSWORD, make_account, make_user
from tests.web.conftest import Browser
from webapp.accounts import tokens as accounts_tokens
from webapp.accounts import users as accounts_users
from webapp.extensions import db
from webapp.models import Account, ApiToken, User
from webapp.platform.errors import PermissionDenied


def text(response) -> str:
    return response.get_data(as_text=True)


def toast_of(response) -> str:
    return json.loads(response.headers["HX-Trigger"])["toast"]["message"]


def is_partial(response) -> bool:
    return "<html" not in text(response)


def user_exists(user_id: int) -> bool:
    return db.session.scalar(select(User.id).where(User.id == user_id)) is not None


# --- account page -------------------------------------------------------------------------------


def test_account_page_for_a_viewer_shows_settings_read_only(browser):
    me = browser("viewer")
    response = me.get("/account")
    html = text(response)
    assert response.status_code == 200
    assert me.user.email in html
    assert "Viewer" in html
    assert "Acme" in html and "Europe/Amsterdam".replace("_", " ") in html
    assert "Only an owner of the account can change these settings." in html
    assert 'action="/account/settings"' not in html
    assert 'action="/account/password"' in html
    assert 'name="language"' in html


def test_account_page_for_an_owner_has_the_settings_form(browser):
    me = browser("owner")
    html = text(me.get("/account"))
    assert 'action="/account/settings"' in html
    assert '<option selected value="Europe/Amsterdam">Europe/Amsterdam</option>' in html
    assert '<option value="America/New_York">America/New York</option>' in html
    names = re.findall(r'<option (?:selected )?value="([A-Za-z]+/[^"]+)"', html)
    assert names == sorted(names) and len(names) > 300


SETTINGS = {
    "name": "Acme Europe",
    "time_zone": "America/New_York",
    "language": "nl",
    "default_sender": "News@Example.com",
}


def test_owner_saves_the_account_settings(browser):
    me = browser("owner")
    response = me.post("/account/settings", SETTINGS)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/account")
    account = db.session.get(Account, me.user.account_id)
    assert (account.name, account.time_zone, account.language, account.default_sender) == (
        "Acme Europe",
        "America/New_York",
        "nl",
        "news@example.com",
    )
    assert "Account settings saved." in text(me.get("/account"))


def test_owner_saves_the_account_settings_with_htmx(browser):
    me = browser("owner")
    response = me.post("/account/settings", {**SETTINGS, "default_sender": ""}, htmx=True)
    assert response.status_code == 200
    assert is_partial(response)
    assert 'id="account-settings"' in text(response)
    assert toast_of(response) == "Account settings saved."
    assert db.session.get(Account, me.user.account_id).time_zone == "America/New_York"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"time_zone": "Mars/Olympus_Mons"}, "Choose a time zone from the list."),
        ({"language": "fr"}, "Choose English or Dutch."),
        ({"default_sender": "not an address"}, "The default sender must be an email address."),
        ({"name": "Other"}, "That name is taken."),
        ({"name": ""}, "This field is required."),
    ],
)
def test_account_settings_are_checked(browser, change, message):
    make_account("Other")
    me = browser("owner")
    response = me.post("/account/settings", {**SETTINGS, **change}, htmx=True)
    assert response.status_code == 422
    assert message in text(response)
    account = db.session.get(Account, me.user.account_id)
    assert (account.name, account.time_zone, account.language) == ("Acme", "Europe/Amsterdam", "en")


def test_account_settings_need_a_csrf_token(browser):
    me = browser("owner")
    response = me.post("/account/settings", SETTINGS, csrf=False)
    assert response.status_code == 400
    assert db.session.get(Account, me.user.account_id).name == "Acme"


# --- own password -------------------------------------------------------------------------------


def test_change_own_password(browser):
    me = browser("viewer")
    new = "a much longer secret"
    response = me.post("/account/password", {"current": PASSWORD, "password": new, "repeat": new})
    assert response.status_code == 303
    assert "Your password is changed; your other sessions have ended." in text(me.get("/account"))
    assert accounts_users.authenticate(me.user.email, new) is not None
    assert accounts_users.authenticate(me.user.email, PASSWORD) is None


def test_change_own_password_with_htmx(browser):
    me = browser("editor")
    new = "a much longer secret"
    response = me.post("/account/password", {"current": PASSWORD, "password": new, "repeat": new}, htmx=True)
    assert response.status_code == 200
    assert is_partial(response) and 'id="password-form"' in text(response)
    assert toast_of(response) == "Your password is changed; your other sessions have ended."
    assert accounts_users.authenticate(me.user.email, new) is not None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"current": "wrong password!", "password": "a much longer secret", "repeat": "a much longer secret"},
            "Your current password is not right.",
        ),
        ({"current": PASSWORD, "password": "short", "repeat": "short"}, "A password has at least 10 characters."),
        (
            {"current": PASSWORD, "password": "a much longer secret", "repeat": "something else"},
            "The two new passwords differ.",
        ),
    ],
)
def test_password_change_is_checked(browser, data, message):
    me = browser("viewer")
    response = me.post("/account/password", data, htmx=True)
    assert response.status_code == 422
    assert message in text(response)
    assert accounts_users.authenticate(me.user.email, PASSWORD) is not None  # unchanged


# --- users --------------------------------------------------------------------------------------


def test_users_page_lists_the_account_users(browser):
    me = browser("admin")
    make_user(me.user.account, "viewer", email="vera@example.com")
    make_user(make_account("Elsewhere"), "viewer", email="stranger@example.com")
    response = me.get("/users")
    html = text(response)
    assert response.status_code == 200
    assert "vera@example.com" in html and me.user.email in html
    assert "stranger@example.com" not in html
    assert "never" in html  # vera never logged in
    assert '<option value="owner"' not in html  # admins cannot hand out the owner role
    assert "Invite a user" in html and "Add a user with a password" in html


def test_admin_adds_a_user(browser):
    me = browser("admin")
    response = me.post("/users", {"email": "New@Example.com", "role": "editor", "password": "initial password"})
    assert response.status_code == 303
    user = db.session.scalar(select(User).where(User.email == "new@example.com"))
    assert (user.role, user.account_id) == ("editor", me.user.account_id)
    assert accounts_users.authenticate("new@example.com", "initial password") is not None
    assert "new@example.com can log in now." in text(me.get("/users"))


def test_admin_adds_a_user_with_htmx(browser):
    me = browser("admin")
    response = me.post(
        "/users", {"email": "ann@example.com", "role": "viewer", "password": "initial password"}, htmx=True
    )
    assert response.status_code == 200
    assert is_partial(response) and 'id="users"' in text(response) and "ann@example.com" in text(response)
    assert toast_of(response) == "ann@example.com can log in now."
    assert db.session.scalar(select(User.role).where(User.email == "ann@example.com")) == "viewer"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"email": "admin.1@example.com", "role": "viewer", "password": "initial password"},
            "A user with this email address already exists.",
        ),
        (
            {"email": "shorty@example.com", "role": "viewer", "password": "short"},
            "A password has at least 10 characters.",
        ),
        ({"email": "not-an-address", "role": "viewer", "password": "initial password"}, "Enter a valid email address"),
        ({"email": "god@example.com", "role": "god", "password": "initial password"}, "Choose one of"),
    ],
)
def test_adding_a_user_is_checked(browser, data, message):
    me = browser("admin", email="admin.1@example.com")
    before = db.session.scalar(select(db.func.count()).select_from(User))
    response = me.post("/users", data, htmx=True)
    assert response.status_code == 422
    assert message in text(response)
    assert db.session.scalar(select(db.func.count()).select_from(User)) == before


def test_admins_cannot_create_owners(browser):
    me = browser("admin")
    response = me.post(
        "/users", {"email": "boss@example.com", "role": "owner", "password": "initial password"}, htmx=True
    )
    assert response.status_code == 403
    assert "Only an owner can make or unmake owners." in text(response)
    assert db.session.scalar(select(User).where(User.email == "boss@example.com")) is None
    with pytest.raises(PermissionDenied):
        accounts_users.create_user(
            me.user.account, email="boss@example.com", password="initial password", role="owner", actor=me.user
        )


def test_owners_create_owners(browser):
    me = browser("owner")
    assert '<option value="owner"' in text(me.get("/users"))
    response = me.post("/users", {"email": "boss@example.com", "role": "owner", "password": "initial password"})
    assert response.status_code == 303
    assert db.session.scalar(select(User.role).where(User.email == "boss@example.com")) == "owner"


def test_admin_changes_a_role(browser):
    me = browser("admin")
    vera = make_user(me.user.account, "viewer", email="vera@example.com")
    response = me.post(f"/users/{vera.id}/role", {"role": "editor"}, htmx=True)
    assert response.status_code == 200
    assert toast_of(response) == "vera@example.com is now Editor."
    assert db.session.get(User, vera.id).role == "editor"
    plain = me.post(f"/users/{vera.id}/role", {"role": "admin"})
    assert plain.status_code == 303
    assert db.session.get(User, vera.id).role == "admin"


@pytest.mark.parametrize(("start", "role"), [("viewer", "owner"), ("owner", "viewer")])
def test_admins_cannot_make_or_unmake_owners(browser, start, role):
    me = browser("admin")
    other = make_user(me.user.account, start, email="other@example.com")
    response = me.post(f"/users/{other.id}/role", {"role": role}, htmx=True)
    assert response.status_code == 403
    assert "Only an owner can make or unmake owners." in text(response)
    assert 'id="users"' in text(response)  # the component shows the message
    assert db.session.get(User, other.id).role == start


def test_the_last_owner_stays_an_owner(browser):
    me = browser("owner")
    response = me.post(f"/users/{me.user.id}/role", {"role": "admin"}, htmx=True)
    assert response.status_code == 409
    assert "An account keeps at least one owner." in text(response)
    assert db.session.get(User, me.user.id).role == "owner"
    second = make_user(me.user.account, "owner", email="second@example.com")
    response = me.post(f"/users/{second.id}/role", {"role": "editor"}, htmx=True)
    assert response.status_code == 200
    assert db.session.get(User, second.id).role == "editor"


def test_owner_steps_down_when_another_owner_exists(browser):
    me = browser("owner")
    make_user(me.user.account, "owner", email="second@example.com")
    response = me.post(f"/users/{me.user.id}/role", {"role": "editor"}, htmx=True)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"].endswith("/account")
    assert db.session.get(User, me.user.id).role == "editor"
    assert me.get("/users").status_code == 403


def test_admin_removes_a_user(browser):
    me = browser("admin")
    vera_id = make_user(me.user.account, "viewer", email="vera@example.com").id
    response = me.post(f"/users/{vera_id}/delete", htmx=True)
    assert response.status_code == 200
    assert toast_of(response) == "The user is removed."
    assert "vera@example.com" not in text(response)
    assert not user_exists(vera_id)
    html = text(me.get("/users"))
    assert f'hx-post="/users/{me.user.id}/delete"' not in html  # no remove button for oneself


def test_nobody_removes_themselves(browser):
    me = browser("owner")
    response = me.post(f"/users/{me.user.id}/delete")
    assert response.status_code == 409
    assert "You cannot remove yourself." in text(response)
    assert user_exists(me.user.id)


def test_only_owners_remove_owners(browser):
    admin = browser("admin")
    owner_id = make_user(admin.user.account, "owner", email="boss@example.com").id
    response = admin.post(f"/users/{owner_id}/delete", htmx=True)
    assert response.status_code == 403
    assert "Only an owner can remove an owner." in text(response)
    assert user_exists(owner_id)
    other_owner = browser("owner", email="boss2@example.com")
    assert other_owner.post(f"/users/{owner_id}/delete").status_code == 303
    assert not user_exists(owner_id)


# --- API tokens ---------------------------------------------------------------------------------


def test_tokens_page_says_tokens_act_as_admins(browser):
    me = browser("admin")
    html = text(me.get("/tokens"))
    assert "admin rights" in html and "SOAP API" in html
    assert "No API tokens yet" in html


def test_create_token_shows_the_secret_once(browser):
    me = browser("admin")
    response = me.post("/tokens", {"name": "Webshop sync"}, htmx=True)
    assert response.status_code == 200
    assert is_partial(response)
    assert response.headers["Cache-Control"] == "no-store"
    secret = re.search(r'id="token-secret-value">([^<]+)<', text(response)).group(1)
    assert secret.startswith("vrk_") and len(secret) > 40
    assert "Store it now" in text(response)
    token = db.session.scalar(select(ApiToken).where(ApiToken.name == "Webshop sync"))
    assert token.account_id == me.user.account_id
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in (token.token_hash, token.prefix, token.name)
    assert secret.startswith(token.prefix)
    page = text(me.get("/tokens"))
    assert secret not in page
    assert f"{token.prefix}…" in page and "Webshop sync" in page
    assert accounts_tokens.account_for_token(secret).id == me.user.account_id


def test_create_token_without_htmx_shows_the_full_page(browser):
    me = browser("admin")
    response = me.post("/tokens", {"name": "ERP"})
    assert response.status_code == 200
    assert "<html" in text(response)
    secret = re.search(r'id="token-secret-value">([^<]+)<', text(response)).group(1)
    assert accounts_tokens.account_for_token(secret) is not None


def test_token_names_are_checked(browser):
    me = browser("admin")
    accounts_tokens.create_api_token(me.user.account, "ERP")
    response = me.post("/tokens", {"name": "ERP"}, htmx=True)
    assert response.status_code == 422
    assert "A token with this name already exists." in text(response)
    assert "token-secret-value" not in text(response)
    assert db.session.scalar(select(db.func.count()).select_from(ApiToken)) == 1


def test_revoke_token(browser):
    me = browser("admin")
    token, secret = accounts_tokens.create_api_token(me.user.account, "ERP")
    response = me.post(f"/tokens/{token.id}/revoke", htmx=True)
    assert response.status_code == 200
    assert toast_of(response) == "The token is revoked."
    assert "revoked" in text(response)
    assert f'/tokens/{token.id}/revoke"' not in text(response)  # no second revoke button
    assert db.session.get(ApiToken, token.id).revoked_at is not None
    assert accounts_tokens.account_for_token(secret) is None


# --- tenant isolation ---------------------------------------------------------------------------


def test_ids_of_another_account_are_not_found(browser):
    theirs = make_account("Globex")
    their_user = make_user(theirs, "viewer", email="hank@globex.example")
    their_token, their_secret = accounts_tokens.create_api_token(theirs, "Globex ERP")
    me = browser("owner")
    assert me.post(f"/users/{their_user.id}/role", {"role": "admin"}, htmx=True).status_code == 404
    assert me.post(f"/users/{their_user.id}/delete").status_code == 404
    assert me.post(f"/tokens/{their_token.id}/revoke").status_code == 404
    assert db.session.get(User, their_user.id).role == "viewer"
    assert db.session.get(ApiToken, their_token.id).revoked_at is None
    assert accounts_tokens.account_for_token(their_secret).id == theirs.id
    assert "hank@globex.example" not in text(me.get("/users"))
    assert "Globex ERP" not in text(me.get("/tokens"))


def test_two_accounts_side_by_side(browser):
    acme = browser("owner")
    globex = browser("owner", account=make_account("Globex"))
    assert globex.post("/account/settings", {**SETTINGS, "name": "Globex Corp"}).status_code == 303
    assert db.session.get(Account, acme.user.account_id).name == "Acme"
    assert db.session.get(Account, globex.user.account_id).name == "Globex Corp"
    assert "Globex Corp" not in text(acme.get("/account"))


# --- CSRF and methods ---------------------------------------------------------------------------


def test_user_and_token_changes_need_a_csrf_token(browser):
    me = browser("owner")
    vera = make_user(me.user.account, "viewer", email="vera@example.com")
    token, _secret = accounts_tokens.create_api_token(me.user.account, "ERP")
    posts = [
        ("/users", {"email": "new@example.com", "role": "viewer", "password": "initial password"}),
        (f"/users/{vera.id}/role", {"role": "admin"}),
        (f"/users/{vera.id}/delete", {}),
        ("/tokens", {"name": "New"}),
        (f"/tokens/{token.id}/revoke", {}),
        ("/account/password", {"current": PASSWORD, "password": "a long new secret", "repeat": "a long new secret"}),
    ]
    for url, data in posts:
        assert me.post(url, data, csrf=False, htmx=True).status_code == 400, url
    assert db.session.scalar(select(db.func.count()).select_from(User)) == 2
    assert db.session.get(User, vera.id).role == "viewer"
    assert db.session.scalar(select(db.func.count()).select_from(ApiToken)) == 1
    assert db.session.get(ApiToken, token.id).revoked_at is None
    assert accounts_users.authenticate(me.user.email, PASSWORD) is not None


def test_changes_are_never_gets(browser):
    me = browser("owner")
    vera = make_user(me.user.account, "viewer", email="vera@example.com")
    token, _secret = accounts_tokens.create_api_token(me.user.account, "ERP")
    for url in (
        f"/users/{vera.id}/delete",
        f"/users/{vera.id}/role",
        f"/tokens/{token.id}/revoke",
        "/account/settings",
        "/account/password",
    ):
        assert me.get(url).status_code == 405, url
    assert user_exists(vera.id)
    assert db.session.get(ApiToken, token.id).revoked_at is None


# --- a password someone else chose ------------------------------------------------------------------

PASSWORD_DUE = "Your password was generated at setup or chosen by someone else."


def test_a_user_an_admin_made_is_asked_to_choose_a_password_until_they_do(app, browser):
    admin = browser("admin")
    admin.post("/users", {"email": "new@example.com", "role": "editor", "password": "initial password"})
    assert PASSWORD_DUE not in text(admin.get("/"))  # the admin's own password is their own
    new = Browser(app.test_client())
    new.post("/login", {"email": "new@example.com", "password": "initial password"})
    for page in ("/", "/forms", "/account"):
        assert PASSWORD_DUE in text(new.get(page)) and 'href="/account#password-form"' in text(new.get(page))
    chosen = "my own long secret"
    new.post("/account/password", {"current": "initial password", "password": chosen, "repeat": chosen})
    assert PASSWORD_DUE not in text(new.get("/"))


def test_the_first_owner_of_a_new_installation_is_asked_too(ctx):
    from webapp.cli import _first_admin

    _first_admin()
    assert db.session.scalars(select(User)).one().password_change_due


def test_a_token_is_created_with_the_chosen_scope(browser):
    me = browser("admin")
    response = me.post("/tokens", {"name": "Reporting", "scope": "read"}, htmx=True)
    assert response.status_code == 200
    token = db.session.scalar(select(ApiToken).where(ApiToken.name == "Reporting"))
    assert token.scope == "read"
    assert me.post("/tokens", {"name": "Odd", "scope": "root"}, htmx=True).status_code == 422
    assert db.session.scalar(select(ApiToken).where(ApiToken.name == "Odd")) is None
