"""Accounts through the web (issue 17): invitations, forgot password, two-factor login (and required), deactivation
ending sessions and REST tokens, the audit log page and its CSV."""

import csv
import io
import re

import pytest
from sqlalchemy import select

from tests.account_helpers import code_after, mailed_links, run_reset_mails
from tests.factories import PASSWORD, make_account, make_database, make_user
from tests.web.conftest import Browser
from webapp.accounts import tokens, two_factor
from webapp.extensions import db
from webapp.models import AuditEntry, User

NEW_PASSWORD = "a brand new password"


def text(response) -> str:
    return response.get_data(as_text=True)


def without_csrf(html: str) -> str:
    return re.sub(r'(name="csrf_token"[^>]*value=")[^"]+', r"\1", html)


@pytest.fixture
def owner(browser):
    return browser("owner")


def _enrolled(user) -> None:
    enrolment = two_factor.start_enrolment(user)
    two_factor.confirm_enrolment(user, code_after(enrolment.secret))


# --- invitations -----------------------------------------------------------------------------------


def test_an_admin_invites_and_the_invitee_sets_a_password_and_is_logged_in(app, owner):
    response = owner.post("/invitations", {"email": "nina@example.com", "role": "editor"})
    assert response.status_code == 303
    page = text(owner.get("/users"))
    assert "Pending invitations" in page and "nina@example.com" in page
    [link] = mailed_links(owner.user.account_id, "invitation")

    invitee = Browser(app.test_client())
    form = invitee.get(link)
    assert form.status_code == 200 and "nina@example.com" in text(form)
    short = invitee.post(link, {"password": "short", "repeat": "short"})
    assert short.status_code == 200 and "at least 10 characters" in text(short)
    accepted = invitee.post(link, {"password": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    assert accepted.status_code == 302
    account_page = invitee.get("/account")
    assert account_page.status_code == 200 and "nina@example.com" in text(account_page)
    user = db.session.scalar(select(User).where(User.email == "nina@example.com"))
    assert user.role == "editor" and user.account_id == owner.user.account_id

    again = Browser(app.test_client()).get(link)
    assert again.status_code == 410 and "This invitation link is not valid" in text(again)
    forged = Browser(app.test_client()).get(link[:-3] + "xyz")
    assert forged.status_code == 410 and "not valid" in text(forged)


def test_invitations_are_resent_and_revoked(app, owner):
    owner.post("/invitations", {"email": "nina@example.com", "role": "viewer"})
    invitation_id = int(re.search(r'id="invitation-(\d+)"', text(owner.get("/users"))).group(1))
    assert owner.post(f"/invitations/{invitation_id}/resend").status_code == 303
    first, second = mailed_links(owner.user.account_id, "invitation")
    visitor = Browser(app.test_client())
    assert visitor.get(first).status_code == 410
    assert visitor.get(second).status_code == 200
    assert owner.post(f"/invitations/{invitation_id}/revoke").status_code == 303
    assert visitor.get(second).status_code == 410
    assert "Pending invitations" not in text(owner.get("/users"))


def test_an_editor_cannot_invite_and_an_admin_cannot_invite_owners(browser):
    editor = browser("editor")
    assert editor.post("/invitations", {"email": "x@example.com", "role": "viewer"}).status_code == 403
    admin = browser("admin", account=editor.user.account)
    response = admin.post("/invitations", {"email": "x@example.com", "role": "owner"})
    assert response.status_code == 403
    assert mailed_links(admin.user.account_id, "invitation") == []


# --- forgot password -------------------------------------------------------------------------------


def test_forgot_password_answers_the_same_for_any_address_and_the_link_resets(app, browser, anonymous):
    member = browser("editor")
    login_page = text(anonymous.get("/login"))
    assert "/forgot" in login_page
    known = anonymous.post("/forgot", {"email": member.user.email})
    unknown = anonymous.post("/forgot", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 200
    assert without_csrf(text(known)) == without_csrf(text(unknown))
    assert run_reset_mails() == 1
    [link] = mailed_links(member.user.account_id, "reset")

    visitor = Browser(app.test_client())
    assert visitor.get(link).status_code == 200
    done = visitor.post(link, {"password": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")
    assert member.get("/account").status_code == 302  # the other session ended
    assert visitor.get(link).status_code == 410  # once
    logged_in = Browser(app.test_client()).post("/login", {"email": member.user.email, "password": NEW_PASSWORD})
    assert logged_in.status_code == 302


def test_forgot_password_is_rate_limited_per_client_address(app, anonymous):
    limit = int(app.config["PASSWORD_RESET_RATE_LIMIT"].split()[0])
    for number in range(limit):
        assert anonymous.post("/forgot", {"email": f"n{number}@example.com"}).status_code == 200
    assert anonymous.post("/forgot", {"email": "n@example.com"}).status_code == 429


# --- two-factor login ------------------------------------------------------------------------------


def test_a_login_with_two_factor_asks_for_the_code_and_sets_no_cookie_before_it(app, ctx):
    account = make_account("Acme")
    user = make_user(account, "editor", email="ed@example.com")
    _enrolled(user)
    visitor = Browser(app.test_client())
    first = visitor.post("/login", {"email": "ed@example.com", "password": PASSWORD, "remember": "y"})
    assert first.status_code == 302 and first.headers["Location"].endswith("/login/code")
    assert "remember_token" not in " ".join(first.headers.getlist("Set-Cookie"))
    assert visitor.get("/account").status_code == 302  # not logged in yet
    wrong = "000000" if code_after(user.totp_secret, 1) != "000000" else "111111"
    refused = visitor.post("/login/code", {"code": wrong})
    assert refused.status_code == 422 and "That code is not right" in text(refused)
    done = visitor.post("/login/code", {"code": code_after(user.totp_secret, 1)})
    assert done.status_code == 302
    assert "remember_token" in " ".join(done.headers.getlist("Set-Cookie"))
    assert visitor.get("/account").status_code == 200


def test_a_recovery_code_logs_in_once(app, ctx):
    account = make_account("Acme")
    user = make_user(account, "editor", email="ed@example.com")
    enrolment = two_factor.start_enrolment(user)
    codes = two_factor.confirm_enrolment(user, code_after(enrolment.secret))
    for expected in (302, 422):
        visitor = Browser(app.test_client())
        visitor.post("/login", {"email": "ed@example.com", "password": PASSWORD})
        assert visitor.post("/login/code", {"code": codes[0]}).status_code == expected


def test_the_code_step_without_a_password_goes_back_to_login(anonymous):
    assert anonymous.get("/login/code").headers["Location"].endswith("/login")


def test_enrolment_through_the_pages_shows_the_qr_code_and_the_recovery_codes_once(browser):
    me = browser("editor")
    page = text(me.post("/account/two-factor/start"))
    assert "<svg" in page and "otpauth" not in page
    secret = re.search(r'<code id="totp-key">([A-Z2-7]+)</code>', page).group(1)
    shown = me.post("/account/two-factor/confirm", {"code": code_after(secret)})
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    assert len(re.findall(r"<li><code>[0-9a-f]{5}-[0-9a-f]{5}</code></li>", text(shown))) == 10
    later = text(me.get("/account/two-factor"))
    assert "10 unused recovery codes left" in later and 'id="recovery-codes"' not in later
    assert me.get("/account").status_code == 200  # this session goes on
    refused = me.post("/account/two-factor/disable", {"password": "wrong"})
    assert refused.status_code == 422
    assert me.post("/account/two-factor/disable", {"password": PASSWORD}).status_code == 303
    db.session.refresh(me.user)
    assert me.user.totp_secret is None


def test_a_required_second_factor_sends_users_to_enrolment_and_nowhere_else(browser):
    owner = browser("owner")
    _enrolled(owner.user)
    db.session.commit()
    owner = browser("admin", account=owner.user.account, email="other-owner@example.com")  # a fresh session
    boss = db.session.scalar(select(User).where(User.role == "owner"))
    owner.token()  # the CSRF token, read while pages still open
    two_factor.set_required(boss.account, boss, True)
    for path in ("/", "/users", "/account", "/audit"):
        response = owner.get(path)
        assert response.status_code == 303 and response.headers["Location"].endswith("/account/two-factor"), path
    assert owner.post("/invitations", {"email": "x@example.com", "role": "viewer"}).status_code == 303
    assert mailed_links(boss.account_id, "invitation") == []  # redirected, not done
    page = text(owner.post("/account/two-factor/start"))
    secret = re.search(r'<code id="totp-key">([A-Z2-7]+)</code>', page).group(1)
    owner.post("/account/two-factor/confirm", {"code": code_after(secret)})
    assert owner.get("/users").status_code == 200


def test_an_owner_requires_two_factor_from_the_page(browser):
    owner = browser("owner")
    refused = owner.post("/account/two-factor/required", {"required": "1"})
    assert refused.status_code == 303
    db.session.refresh(owner.user.account)
    assert not owner.user.account.require_two_factor  # not without it for oneself
    _enrolled(owner.user)
    owner.post("/account/two-factor/required", {"required": "1"})  # its session was ended by enrolling
    db.session.refresh(owner.user.account)
    admin = browser("admin", account=owner.user.account)
    assert admin.post("/account/two-factor/required", {"required": "1"}).status_code == 403
    assert admin.get("/account/two-factor").status_code == 200


# --- deactivation ----------------------------------------------------------------------------------


def test_deactivating_ends_the_users_sessions_and_rest_tokens_at_once(app, browser):
    owner = browser("owner")
    member = browser("admin", account=owner.user.account)
    _row, secret = tokens.create_api_token(owner.user.account, "theirs", created_by=member.user)
    make_database(owner.user.account)
    rest = app.test_client()
    db.session.commit()
    assert rest.get("/v4/databases", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    assert member.get("/account").status_code == 200

    response = owner.post(f"/users/{member.user.id}/deactivate")
    assert response.status_code == 303
    assert member.get("/account").status_code == 302
    assert rest.get("/v4/databases", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    again = Browser(app.test_client()).post("/login", {"email": member.user.email, "password": PASSWORD})
    assert again.status_code == 403 and "deactivated" in text(again)
    assert "deactivated" in text(owner.get("/users"))

    assert owner.post(f"/users/{member.user.id}/reactivate").status_code == 303
    back = Browser(app.test_client()).post("/login", {"email": member.user.email, "password": PASSWORD})
    assert back.status_code == 302


def test_the_last_owner_cannot_be_deactivated(browser):
    owner = browser("owner")
    other = browser("owner", account=owner.user.account, email="otto@example.com")
    assert owner.post(f"/users/{other.user.id}/deactivate").status_code == 303
    response = other.get("/account")
    assert response.status_code == 302
    assert owner.post(f"/users/{owner.user.id}/deactivate").status_code == 409


# --- the audit log page ----------------------------------------------------------------------------


def test_the_audit_log_names_the_admin_and_filters_and_exports(app, browser):
    owner = browser("owner")
    account = owner.user.account
    owner.post(
        "/account/settings",
        {"name": "Acme Two", "time_zone": "Europe/Amsterdam", "language": "en", "default_sender": ""},
    )
    make_database(account)
    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    settings_entry = next(entry for entry in entries if entry.area == "settings" and entry.action == "update")
    assert (settings_entry.actor, settings_entry.ip) == (owner.user.email, "127.0.0.1")
    assert settings_entry.changes["name"] == ["Acme", "Acme Two"]

    page = owner.get("/audit?area=settings")
    table = text(page).split('id="audit-entries"')[1]
    assert page.status_code == 200 and "Acme Two" in table and owner.user.email in table
    assert "Customers" not in table
    only_databases = text(owner.get("/audit?area=databases")).split('id="audit-entries"')[1]
    assert "Customers" in only_databases and "Acme Two" not in only_databases
    assert "YYYY-MM-DD" in text(owner.get("/audit?since=yesterday"))
    future = text(owner.get("/audit?since=2999-01-01"))
    assert "No changes found" in future

    exported = owner.get("/audit.csv?area=settings")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(text(exported))))
    assert rows[0][0] == "at (UTC)" and any("Acme Two" in row[-1] for row in rows[1:])
    assert all(row[5] == "settings" for row in rows[1:])


def test_the_audit_log_is_for_admins_and_shows_only_the_own_account(browser):
    editor = browser("editor")
    assert editor.get("/audit").status_code == 403
    make_database(make_account("Elsewhere"), "Secret plans")
    admin = browser("admin", account=editor.user.account)
    assert "Secret plans" not in text(admin.get("/audit"))
    assert "Secret plans" not in text(admin.get("/audit.csv"))
