"""The profile list's conditions in Chromium at phone width: add a row, choose a field (its operators come with
it), type a value (the list follows, the URL too), remove the row; the page never scrolls sideways."""

import re

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD, make_account, make_user
from webapp.extensions import db
from webapp.profiles import databases
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec, create_field
from webapp.profiles.profiles import create_profile

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 812}


def sideways(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def settled(page) -> None:
    """Wait until htmx has processed what it swapped in: it wires new elements (their hx-trigger) only when the
    swap settles, 20 ms later, and marks them ``htmx-added`` until then; a change made before is not sent."""
    expect(page.locator(".htmx-added")).to_have_count(0)


def test_conditions_filter_the_list_at_phone_width(page, verrijk, ctx):
    user = make_user(make_account("Acme"), "editor")
    account = user.account
    database = databases.create_database(account, "Newsletter")
    for name, kind in (("Email", "email"), ("City", "text"), ("Score", "number")):
        create_field(account, FieldSpec(name=name, type=kind, indexed=name == "Email"), database_id=database.id)
    databases.create_interest(account, database.id, "Weekly")
    for number, city in enumerate(("Utrecht", "Delft", "Utrecht")):
        create_profile(
            account,
            database.id,
            {"Email": f"person.{number}@example.com", "City": city, "Score": number * 10},
            origin=Origin("admin"),
        )
    db.session.commit()
    page.set_viewport_size(PHONE)
    page.goto(f"{verrijk.url}/login")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{verrijk.url}/databases/{database.id}/profiles")
    rows = page.locator("table.profiles tbody tr")
    expect(rows).to_have_count(3)

    page.get_by_role("button", name="Add a condition").click()
    subject = page.get_by_label("Field or interest of condition 1")
    expect(subject).to_be_visible()
    settled(page)
    subject.select_option(label="Score")
    operator = page.get_by_label("Operator of condition 1")
    expect(operator.locator("option[value='>']")).to_have_count(1)  # a number's operators
    expect(operator.locator("option[value='contains']")).to_have_count(0)
    settled(page)
    operator.select_option(">")
    expect(page).to_have_url(re.compile(r"fo=%3E"))  # the form came back for the new operator
    settled(page)
    page.get_by_label("Value of condition 1").fill("5")
    expect(rows).to_have_count(2)
    expect(page).to_have_url(re.compile(r"fo=%3E&fv=5"))  # the list's URL says its conditions
    assert sideways(page) == 0

    page.reload()  # bookmarkable: the URL alone gives the same list and form
    expect(rows).to_have_count(2)
    expect(page.get_by_label("Value of condition 1")).to_have_value("5")

    page.get_by_role("button", name="Remove condition 1").click()
    expect(page.get_by_label("Field or interest of condition 1")).to_have_count(0)
    expect(rows).to_have_count(3)
    assert sideways(page) == 0
    assert page.problems == []
