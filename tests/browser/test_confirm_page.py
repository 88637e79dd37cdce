"""The double opt-in confirmation link in a real browser: its page confirms with a POST, by itself; a plain GET
(what a mail scanner does) confirms nothing."""

import os
import re
import time

import httpx
import pytest

from tests.factories import make_database, make_form
from webapp.email.delivery import caught_messages
from webapp.extensions import db
from webapp.models import Profile
from webapp.webforms import spam as form_spam
from webapp.webforms import submissions as forms

try:
    from playwright.sync_api import expect
except ImportError:
    if os.environ.get("CI"):
        raise
    pytest.skip("Playwright is not installed (scripts/setup installs the test extras)", allow_module_level=True)

pytestmark = pytest.mark.browser


@pytest.fixture
def signed_up(account, verrijk):
    """A sign-up through a double opt-in form; returns (profile id, the News field key, the confirmation link)."""
    database = make_database(
        account, fields={"Email": "email", "News": {"type": "choice", "options": {"choices": ["yes", "pending"]}}}
    )
    email, news = (field.id for field in database.fields)
    form = make_form(
        account,
        database,
        items=[{"type": "field", "field": "Email"}],
        double_opt_in={
            "enabled": True,
            "unconfirmed_values": {str(news): "pending"},
            "confirmed_values": {str(news): "yes"},
        },
    )
    token = form_spam.issue_token(form.key, now=time.time() - 60)
    result = forms.submit_form(
        form.key,
        {f"f{email}": "ann@example.com"},
        {},
        origin="",
        ip="192.0.2.1",
        idempotency_key=None,
        elapsed_token=token,
    )
    assert result.status_code == 200, result.body
    [message] = caught_messages(account.id)
    path = re.search(r"(/p/confirm/\S+)", message.get_body(("plain",)).get_content()).group(1)
    db.session.commit()
    return result.profile_id, str(news), verrijk.url + path


def news_of(profile_id: int, news: str) -> str:
    db.session.expire_all()
    return db.session.get(Profile, profile_id).fields[news]


def test_a_scanner_get_confirms_nothing_and_a_browser_confirms_by_itself(page, signed_up):
    profile_id, news, link = signed_up
    scanned = httpx.get(link)
    assert scanned.status_code == 200 and 'method="post"' in scanned.text
    assert news_of(profile_id, news) == "pending"
    page.goto(link)
    expect(page.get_by_text("Your sign-up is confirmed.")).to_be_visible()
    assert news_of(profile_id, news) == "yes"
    assert [problem for problem in page.problems if "Failed to load resource" not in problem] == []  # favicon
