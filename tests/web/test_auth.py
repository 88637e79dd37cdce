"""Logging in and out, the `next` redirect, the login rate limit, CSRF and the language choice."""

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import quote, urlsplit

import pytest

from tests.factories import PASSWORD, make_account, make_user
from tests.web.conftest import Browser
from webapp.extensions import db
from webapp.models import User

WRONG = "Wrong email address or password."


def html_lang(response) -> str:
    return re.search(r'<html lang="([^"]+)"', response.get_data(as_text=True)).group(1)


def location_path(response) -> str:
    """The redirect target's path and query; fails when it points at another host."""
    parts = urlsplit(response.headers["Location"])
    assert parts.netloc in ("", "verrijk.test"), response.headers["Location"]
    return parts.path + (f"?{parts.query}" if parts.query else "")


@pytest.fixture
def user(ctx):
    return make_user(make_account("Acme"), "editor", email="ed@example.com")


def test_login_page(anonymous):
    response = anonymous.get("/login")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Log in to Verrijk" in html
    assert 'autocomplete="current-password"' in html
    assert 'name="csrf_token"' in html


def test_login_with_the_right_password(anonymous, user):
    response = anonymous.post("/login", {"email": "ED@example.com ", "password": PASSWORD})
    assert response.status_code == 302
    assert location_path(response) == "/"
    db.session.refresh(user)
    assert user.last_login_at is not None
    page = anonymous.get("/account")
    assert page.status_code == 200
    assert "ed@example.com" in page.get_data(as_text=True)


def test_wrong_password_and_unknown_email_get_the_same_answer(anonymous, user):
    wrong_password = anonymous.post("/login", {"email": "ed@example.com", "password": "not the password"})
    unknown_email = anonymous.post("/login", {"email": "nobody@example.com", "password": PASSWORD})
    for response in (wrong_password, unknown_email):
        assert response.status_code == 200
        assert WRONG in response.get_data(as_text=True)
    assert "nobody@example.com" in unknown_email.get_data(as_text=True)  # the typed address is kept
    db.session.refresh(user)
    assert user.last_login_at is None
    assert anonymous.get("/account").status_code == 302  # still logged out


def test_pages_need_a_login_and_come_back_after_it(anonymous, user):
    response = anonymous.get("/users")
    assert response.status_code == 302
    assert location_path(response) == "/login?next=%2Fusers"
    login = anonymous.post("/login?next=%2Faccount", {"email": user.email, "password": PASSWORD})
    assert location_path(login) == "/account"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/account",
        "https://evil.example/",
        "http:evil.example",
        "/\\evil.example",
        "/\t/evil.example",
        "/%0a/evil.example".replace("%0a", "\n"),
        "javascript:alert(1)",
        "evil.example",
    ],
)
def test_next_never_leaves_the_site(anonymous, user, target):
    response = anonymous.post(f"/login?next={quote(target, safe='')}", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert location_path(response) == "/"


def test_logged_in_users_are_sent_on_from_the_login_page(browser):
    me = browser("viewer")
    response = me.get("/login?next=/account")
    assert response.status_code == 302
    assert location_path(response) == "/account"
    assert location_path(me.get("/login?next=//evil.example")) == "/"


def test_logout_is_post_only(browser):
    me = browser("viewer")
    assert me.get("/logout").status_code == 405
    assert me.get("/account").status_code == 200  # still logged in
    response = me.post("/logout")
    assert response.status_code == 302
    assert location_path(response) == "/login"
    assert me.get("/account").status_code == 302
    assert "You are logged out." in me.get("/login").get_data(as_text=True)


def test_logout_without_csrf_token_is_refused(browser):
    me = browser("viewer")
    response = me.post("/logout", csrf=False)
    assert response.status_code == 400
    assert me.get("/account").status_code == 200


def test_login_without_csrf_token_is_refused(anonymous, user):
    response = anonymous.post("/login", {"email": user.email, "password": PASSWORD}, csrf=False)
    assert response.status_code == 400
    assert anonymous.get("/account").status_code == 302
    db.session.refresh(user)
    assert user.last_login_at is None


@pytest.fixture
def low_login_limit(app):
    previous = app.config["LOGIN_RATE_LIMIT"]
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    yield
    app.config["LOGIN_RATE_LIMIT"] = previous


def test_login_posts_are_rate_limited(anonymous, user, low_login_limit):
    for _ in range(6):  # pages views do not count
        assert anonymous.get("/login").status_code == 200
    for _ in range(3):
        response = anonymous.post("/login", {"email": user.email, "password": "guess guess guess"})
        assert response.status_code == 200
        assert WRONG in response.get_data(as_text=True)
    blocked = anonymous.post("/login", {"email": user.email, "password": PASSWORD})
    assert blocked.status_code == 429
    assert "Wait a minute" in blocked.get_data(as_text=True)
    assert blocked.headers.get("Retry-After")
    db.session.refresh(user)
    assert user.last_login_at is None  # the right password did not get through either
    assert anonymous.get("/account").status_code == 302
    assert anonymous.get("/login").status_code == 200  # the page itself still shows


def test_the_rate_limit_is_per_remote_address(app, user, low_login_limit, anonymous):
    for _ in range(3):
        anonymous.post("/login", {"email": user.email, "password": "guess guess guess"})
    assert anonymous.post("/login", {"email": user.email, "password": PASSWORD}).status_code == 429
    elsewhere = Browser(app.test_client())
    response = elsewhere.post(
        "/login", {"email": user.email, "password": PASSWORD}, environ_overrides={"REMOTE_ADDR": "192.0.2.7"}
    )
    assert response.status_code == 302


def test_language_choice_before_login(anonymous):
    assert html_lang(anonymous.get("/login")) == "en"
    response = anonymous.post(
        "/language", {"language": "nl"}, headers={"Referer": "http://verrijk.test/login?next=%2Fusers"}
    )
    assert response.status_code == 303
    assert location_path(response) == "/login?next=%2Fusers"
    assert html_lang(anonymous.get("/login")) == "nl"


def test_language_choice_never_redirects_away(anonymous):
    response = anonymous.post("/language", {"language": "nl"}, headers={"Referer": "https://evil.example/login"})
    assert location_path(response) == "/"
    response = anonymous.post("/language", {"language": "nl", "next": "//evil.example"})
    assert location_path(response) == "/"


def test_language_choice_is_stored_on_the_user(browser):
    me = browser("viewer")
    assert html_lang(me.get("/account")) == "en"
    response = me.post("/language", {"language": "nl", "next": "/account"})
    assert response.status_code == 303
    assert location_path(response) == "/account"
    assert db.session.get(User, me.user.id).language == "nl"
    assert html_lang(me.get("/account")) == "nl"
    # the choice follows the user to a new session
    again = Browser(me.client.application.test_client())
    assert again.post("/login", {"email": me.user.email, "password": PASSWORD}).status_code == 302
    assert html_lang(again.get("/account")) == "nl"


def test_unknown_language_is_refused(browser):
    me = browser("viewer")
    response = me.post("/language", {"language": "xx", "next": "/account"})
    assert response.status_code == 303
    assert db.session.get(User, me.user.id).language is None
    assert "Choose English or Dutch." in me.get("/account").get_data(as_text=True)


def test_language_without_csrf_token_is_refused(browser):
    me = browser("viewer")
    assert me.post("/language", {"language": "nl"}, csrf=False).status_code == 400
    assert db.session.get(User, me.user.id).language is None


def test_every_page_names_the_icon_and_favicon_ico_answers(anonymous):
    assert 'rel="icon" href="/static/favicon.svg"' in anonymous.get("/login").get_data(as_text=True)
    icon = anonymous.get("/favicon.ico")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml" and icon.get_data().startswith(b"<svg")
    icon.close()


# --- sessions end on the server's word (issue 21, defect 7) -------------------------------------------------------


def logged_in(app, user, *, remember: bool = False) -> Browser:
    visitor = Browser(app.test_client())
    form = {"email": user.email, "password": PASSWORD, **({"remember": "y"} if remember else {})}
    assert visitor.post("/login", form).status_code == 302
    visitor.user, visitor._token = user, None
    return visitor


def with_cookie(app, name: str, value: str) -> Browser:
    """A fresh client carrying only one copied cookie (as a thief would)."""
    client = app.test_client()
    client.set_cookie(name, value, domain="verrijk.test")
    return Browser(client)


def cookie(visitor: Browser, name: str) -> str:
    found = visitor.client.get_cookie(name, domain="verrijk.test")
    assert found is not None, name
    return found.value


def test_a_password_change_ends_the_other_sessions_and_remember_cookies(app, user):
    here, there = logged_in(app, user), logged_in(app, user, remember=True)
    stolen = with_cookie(app, "remember_token", cookie(there, "remember_token"))
    assert stolen.get("/account").status_code == 200  # the remember cookie alone logs in
    response = here.post(
        "/account/password", {"current": PASSWORD, "password": "a new password!", "repeat": "a new password!"}
    )
    assert response.status_code in (200, 302, 303), response.get_data(as_text=True)
    assert here.get("/account").status_code == 200  # the session that changed it goes on
    assert there.get("/account").status_code == 302
    assert with_cookie(app, "remember_token", cookie(there, "remember_token")).get("/account").status_code == 302


def test_a_session_cookie_copied_before_logout_is_dead_after_it(app, user):
    visitor = logged_in(app, user)
    copied = cookie(visitor, "session")
    assert with_cookie(app, "session", copied).get("/account").status_code == 200
    assert visitor.post("/logout").status_code == 302
    assert with_cookie(app, "session", copied).get("/account").status_code == 302


def test_the_remember_cookie_is_same_site_and_short_lived(app, user):
    visitor = Browser(app.test_client())
    response = visitor.post("/login", {"email": user.email, "password": PASSWORD, "remember": "y"})
    [remember] = [value for value in response.headers.getlist("Set-Cookie") if value.startswith("remember_token=")]
    assert "SameSite=Lax" in remember and "HttpOnly" in remember
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", remember).group(1))
    assert expires <= datetime.now(UTC) + timedelta(days=14, minutes=1)


# --- per-account login backoff (issue 21, defect 8) -------------------------------------------------------------


def test_wrong_passwords_from_many_addresses_slow_down_guessing_at_one_account(app, user, anonymous, monkeypatch):
    from types import SimpleNamespace

    from webapp.accounts import login_backoff

    monkeypatch.setattr(login_backoff, "time", SimpleNamespace(time=lambda: 1_000_000.0))  # a still clock
    guesses = []
    for number in range(30):
        visitor = Browser(app.test_client())
        response = visitor.post(
            "/login",
            {"email": user.email, "password": f"guess {number} guess"},
            environ_overrides={"REMOTE_ADDR": f"192.0.2.{number + 1}"},
        )
        guesses.append(response.status_code)
    assert guesses[:5] == [200] * 5 and set(guesses[5:]) == {429}  # only 5 checked in this burst
    blocked = anonymous.post("/login", {"email": user.email, "password": PASSWORD})
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) <= 60
    assert "Too many wrong passwords for this account" in blocked.get_data(as_text=True)
    db.session.refresh(user)
    assert user.last_login_at is None


def test_the_backoff_never_keeps_the_real_user_out_for_more_than_a_minute(ctx, user):
    from webapp.accounts import login_backoff

    now = 1_000_000.0
    for _ in range(300):
        login_backoff.record_failure(user.email, now=now)
    assert 0 < login_backoff.wait_seconds(user.email, now=now) <= 60
    assert login_backoff.wait_seconds(user.email, now=now + 60) == 0
    assert login_backoff.wait_seconds("someone.else@example.com", now=now) == 0
    login_backoff.clear(user.email)
    assert login_backoff.wait_seconds(user.email, now=now) == 0


def test_a_right_password_clears_the_count(app, user, anonymous):
    for _ in range(4):
        anonymous.post("/login", {"email": user.email, "password": "guess guess guess"})
    assert anonymous.post("/login", {"email": user.email, "password": PASSWORD}).status_code == 302
    anonymous.post("/logout")
    other = Browser(app.test_client())
    elsewhere = {"REMOTE_ADDR": "192.0.2.99"}
    for _ in range(5):
        response = other.post("/login", {"email": user.email, "password": "guess!"}, environ_overrides=elsewhere)
        assert response.status_code == 200
