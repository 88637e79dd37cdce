"""The new visitor-facing account pages in a real browser: an invitee sets a password from the mailed link and is
logged in, turns on two-factor login by scanning (reading) the key, and logs in again with a code."""

import os

import pytest

from tests.account_helpers import code_after, mailed_links
from tests.factories import make_user
from webapp.accounts import invitations
from webapp.extensions import db

try:
    from playwright.sync_api import expect
except ImportError:
    if os.environ.get("CI"):
        raise
    pytest.skip("Playwright is not installed (scripts/setup installs the test extras)", allow_module_level=True)

pytestmark = pytest.mark.browser

PASSWORD = "my own good password"


def test_invitation_then_two_factor_enrolment_then_a_login_with_a_code(page, account, verrijk):
    owner = make_user(account, "owner", email="olga@example.com")
    invitations.invite(account, owner, email="nina@example.com", role="editor")
    [path] = mailed_links(account.id, "invitation")
    db.session.commit()

    page.goto(verrijk.url + path)
    expect(page.get_by_text("You log in as nina@example.com")).to_be_visible()
    page.get_by_label("New password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the new password").fill("something else entirely")
    page.get_by_role("button", name="Save and log in").click()
    expect(page.get_by_text("The two new passwords differ.")).to_be_visible()
    page.get_by_label("New password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the new password").fill(PASSWORD)
    page.get_by_role("button", name="Save and log in").click()
    expect(page.get_by_text("Welcome to Acme.")).to_be_visible()

    page.goto(verrijk.url + "/account/two-factor")
    page.get_by_role("button", name="Set up two-factor login").click()
    expect(page.locator(".qr svg")).to_be_visible()
    secret = page.locator("#totp-key").inner_text()
    page.get_by_label("Code", exact=True).fill(code_after(secret))
    page.get_by_role("button", name="Turn on").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)

    page.get_by_role("button", name="Log out").click()
    page.get_by_label("Email address").fill("nina@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    page.get_by_label("Code", exact=True).fill(code_after(secret, 1))
    page.get_by_role("button", name="Log in").click()
    page.goto(verrijk.url + "/account")
    expect(page.get_by_role("heading", name="Account", exact=True)).to_be_visible()
    expect(page.get_by_text("nina@example.com").first).to_be_visible()
    assert [problem for problem in page.problems if "Failed to load resource" not in problem] == []
