"""The hosted form page ``/f/<key>`` in a real browser: the page is sent for real, and the same page copied
onto a foreign site is still refused (the origin check survives the page's referrer policy)."""

import os
import re

import pytest

from tests.browser.test_embed import make_signup_form, profile_with_email, submissions
from webapp.extensions import db
from webapp.models import FormSubmission

try:
    from playwright.sync_api import expect
except ImportError:
    if os.environ.get("CI"):
        raise
    pytest.skip("Playwright is not installed (scripts/setup installs the test extras)", allow_module_level=True)

pytestmark = pytest.mark.browser


def fill_signup(form, email: str = "ann@example.com") -> None:
    """The server-rendered form: the consent's label is its name, its text stands beside it."""
    form.get_by_label("Email").fill(email)
    form.get_by_label("FirstName").fill("Ann")
    form.get_by_label("large").check()
    form.get_by_label("News").check()
    form.get_by_label("Privacy").check()


def test_the_hosted_page_is_sent_from_a_real_browser(account, page, verrijk, host_site):
    form = make_signup_form(account, host_site.url)
    page.goto(f"{verrijk.url}/f/{form.key}")
    fill_signup(page.locator("main"))
    page.get_by_role("button", name="Sign me up").click()

    expect(page.get_by_text("Welcome aboard!")).to_be_visible()
    assert profile_with_email(account, form, "ann@example.com") is not None
    assert submissions(form) == 1


def test_the_hosted_page_framed_by_an_allowed_site_is_sent(account, page, verrijk, host_site, host_page):
    form = make_signup_form(account, host_site.url)
    page.goto(host_page(f'<iframe src="{verrijk.url}/f/{form.key}" width="600" height="900"></iframe>'))
    frame = page.frame_locator("iframe")
    fill_signup(frame.locator("main"))
    frame.get_by_role("button", name="Sign me up").click()

    expect(frame.get_by_text("Welcome aboard!")).to_be_visible()
    assert submissions(form) == 1


def test_a_copy_of_the_hosted_page_on_a_foreign_site_is_refused(account, page, verrijk, host_site, host_page):
    """A foreign site (not among the allowed origins) copies the hosted page, token and all, with the same
    ``no-referrer`` policy (so the browser sends ``Origin: null``): refused, nothing is stored."""
    form = make_signup_form(account, "https://shop.example")
    hosted = page.request.get(f"{verrijk.url}/f/{form.key}").text()
    copied = re.search(r"<form.*</form>", hosted, re.S).group(0).replace('action="/', f'action="{verrijk.url}/')
    url = host_page(f'<meta name="referrer" content="no-referrer">{copied}', path="/copy")
    page.goto(url)
    fill_signup(page.locator("form"))
    page.get_by_role("button", name="Sign me up").click()

    expect(page.get_by_text("This form may not be sent from this website.")).to_be_visible()
    assert profile_with_email(account, form, "ann@example.com") is None
    db.session.expire_all()
    rejected = db.session.query(FormSubmission).filter_by(form_id=form.id).one()
    assert (rejected.status, rejected.reason) == ("rejected", "origin")


def test_a_foreign_page_posting_with_its_own_origin_is_refused(account, page, verrijk, host_site, host_page):
    form = make_signup_form(account, "https://shop.example")
    hosted = page.request.get(f"{verrijk.url}/f/{form.key}").text()
    copied = re.search(r"<form.*</form>", hosted, re.S).group(0).replace('action="/', f'action="{verrijk.url}/')
    page.goto(host_page(copied, path="/copy"))
    fill_signup(page.locator("form"))
    page.get_by_role("button", name="Sign me up").click()

    expect(page.get_by_text("This form may not be sent from this website.")).to_be_visible()
    assert submissions(form) == 0
