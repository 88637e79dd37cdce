"""The REST API page in a real browser: an operation is tried with a pasted token and its answer shows."""

import os

import pytest

from tests.factories import make_database
from webapp.accounts.tokens import create_api_token
from webapp.extensions import db

try:
    from playwright.sync_api import expect
except ImportError:
    if os.environ.get("CI"):
        raise
    pytest.skip("Playwright is not installed (scripts/setup installs the test extras)", allow_module_level=True)

pytestmark = pytest.mark.browser


def test_an_operation_is_tried_from_the_page(account, verrijk, page):
    database = make_database(account, "ShopCustomers")
    _token, secret = create_api_token(account, "docs page")
    db.session.commit()
    failed = []
    page.on("response", lambda response: response.status >= 400 and failed.append(response.url))
    page.goto(f"{verrijk.url}/api/docs")
    page.fill("#api-token", secret)
    form = page.locator("form[data-method='GET'][data-path='/api/v1/database/{id}']")
    form.locator("input[name='id']").fill(str(database.id))
    form.get_by_role("button").click()
    answer = form.locator("[data-api-answer]")
    expect(answer).to_contain_text("200")
    expect(answer).to_contain_text("ShopCustomers")
    assert [url for url in failed if not url.endswith("/favicon.ico")] == []
    assert page.locator("script[src^='http']").count() == 0  # nothing from a CDN
