"""A branded unsubscribe page in a real browser: the account's logo (from our own URL) and colours show under
the page's strict CSP, in the account's language, and unsubscribing lands on the account's own page."""

import pytest
from playwright.sync_api import expect

from tests.factories import make_account, make_database
from webapp.email import branding, link_tokens, suppression
from webapp.extensions import db
from webapp.profiles import profiles
from webapp.profiles.events import Origin

pytestmark = pytest.mark.browser

# A 2×1 red PNG
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000020000000108020000007b40e8dd0000000d49444154789c63f8cfc000440008fe"
    "01ffc69e79f70000000049454e44ae426082"
)


def test_a_branded_unsubscribe_page(page, verrijk, host_page, ctx):
    account = make_account("Bakkerij")
    account.language = "nl"
    goodbye = host_page("<h1>Tot ziens</h1>", path="/goodbye")
    branding.save_branding(
        account,
        color_primary="#aa3300",
        color_background="#fffbea",
        confirm_redirect_url="",
        unsubscribe_redirect_url=goodbye,
        logo=PNG,
    )
    database = make_database(account)
    profile = profiles.create_profile(account, database.id, {"Email": "ann@example.com"}, origin=Origin("admin"))
    db.session.commit()
    token = link_tokens.unsubscribe_link(account.id, profile.code, "<m1@example.com>").rsplit("/", 1)[1]

    page.goto(f"{verrijk.url}/p/u/{token}")
    logo = page.locator("img.brand-logo")
    expect(logo).to_be_visible()
    assert logo.evaluate("image => image.naturalWidth") == 2  # loaded from our own URL under the CSP
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 251, 234)"
    button = page.get_by_role("button", name="Afmelden")
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(170, 51, 0)"
    button.click()
    expect(page).to_have_url(goodbye)
    expect(page.locator("h1")).to_have_text("Tot ziens")
    db.session.expire_all()
    assert suppression.blocking_reason(account.id, "ann@example.com", "marketing") is not None  # unsubscribed
    assert page.problems == []
