"""The form builder in a real browser: drag to reorder, edit in place, and the live preview follows."""

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD, make_account, make_database, make_user
from webapp.extensions import db
from webapp.models import Form
from webapp.webforms import builder as form_builder
from webapp.webforms import items as webforms_items

pytestmark = pytest.mark.browser


@pytest.fixture
def builder(page, verrijk, ctx):
    """An editor logged in on the builder page of a form with the items Email, FirstName and a consent."""
    user = make_user(make_account("Acme"), "editor")
    account = user.account
    database = make_database(account)
    form = form_builder.create_form(account, database.id, name="Sign-up")
    for field in database.fields[:2]:
        webforms_items.add_item(account, form.id, "field", field_id=field.id)
    webforms_items.add_item(account, form.id, "consent")
    page.goto(f"{verrijk.url}/login")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{verrijk.url}/forms/{form.id}")
    page.form_id = form.id
    return page


def stored_order(form_id: int) -> list[str]:
    db.session.rollback()
    db.session.expire_all()
    return [item["label"] or item["type"] for item in db.session.get(Form, form_id).items]


def script_errors(page) -> list[str]:
    """Console and page errors."""
    return list(page.problems)


def preview_labels(page):
    return page.frame_locator("#form-preview").locator("[data-verrijk-form] label")


def test_drag_an_item_to_the_top_and_the_preview_follows(builder):
    page = builder
    expect(preview_labels(page).first).to_have_text("Email")
    items = page.locator("#form-items > li")
    with page.expect_response(lambda response: response.url.endswith("/order")) as saved:
        items.nth(2).locator(".drag-handle").drag_to(items.nth(0), target_position={"x": 20, "y": 4})
    assert saved.value.status == 200
    expect(page.locator("#form-items > li").first).to_contain_text("Consent")
    assert stored_order(page.form_id) == ["consent", "Email", "FirstName"]
    expect(preview_labels(page).first).not_to_have_text("Email")
    assert script_errors(page) == []


def test_edit_in_place_and_the_preview_shows_the_new_label(builder):
    page = builder
    page.locator("#form-items > li").first.get_by_text("Edit").click()
    page.locator("#form-items input[name=label]").fill("Your email address")
    page.locator("#form-items").get_by_role("button", name="Save item").click()
    expect(page.locator("#form-items > li").first).to_contain_text("Your email address")
    expect(preview_labels(page).first).to_have_text("Your email address")
    with page.expect_response(lambda response: response.url.endswith("/move")):
        page.locator("#form-items > li").nth(1).get_by_role("button", name="Move up").click()
    expect(page.locator("#form-items > li").first).to_contain_text("FirstName")
    assert stored_order(page.form_id) == ["FirstName", "Your email address", "consent"]
    assert script_errors(page) == []


def test_a_refused_settings_save_keeps_what_was_typed(builder):
    page = builder
    revision = db.session.get(Form, page.form_id).revision
    settings = page.locator("#settings")
    settings.get_by_label("Allowed origins").fill("https://shop.example\nhttps://www.shop.example")
    settings.get_by_label("Success message").fill("Welcome, reader!")
    settings.get_by_label("Or redirect to").fill("not a url")
    settings.get_by_label("Double opt-in: new sign-ups confirm by email").check()
    settings.get_by_label("Subject of the confirmation email").fill("Please confirm")
    with page.expect_response(lambda response: response.url.endswith("/settings")) as saved:
        settings.get_by_role("button", name="Save settings").click()
    assert saved.value.status == 422
    expect(page.locator("#settings .error").first).to_be_visible()
    settings = page.locator("#settings")
    expect(settings.get_by_label("Allowed origins")).to_have_value("https://shop.example\nhttps://www.shop.example")
    expect(settings.get_by_label("Success message")).to_have_value("Welcome, reader!")
    expect(settings.get_by_label("Or redirect to")).to_have_value("not a url")
    expect(settings.get_by_label("Double opt-in: new sign-ups confirm by email")).to_be_checked()
    expect(settings.get_by_label("Subject of the confirmation email")).to_have_value("Please confirm")
    db.session.expire_all()
    assert db.session.get(Form, page.form_id).revision == revision


def test_texts_per_language_at_phone_width(builder):
    """Choose the form's languages, then write the button and a label per language, on a 375 px screen."""
    page = builder
    page.set_viewport_size({"width": 375, "height": 812})
    settings = page.locator("#settings")
    languages = settings.locator(".form-languages")
    languages.get_by_label("Dutch").check()
    languages.get_by_label("English").check()
    languages.get_by_label("Default language").select_option("nl")
    with page.expect_response(lambda response: response.url.endswith("/settings")) as saved:
        settings.get_by_role("button", name="Save settings").click()
    assert saved.value.status == 200
    settings = page.locator("#settings")
    settings.locator("input[name='submit_label.nl']").fill("Verstuur")
    settings.locator("input[name='submit_label.en']").fill("Send")
    with page.expect_response(lambda response: response.url.endswith("/settings")) as saved:
        settings.get_by_role("button", name="Save settings").click()
    assert saved.value.status == 200
    page.locator("#form-items > li").first.get_by_text("Edit").click()
    page.locator("#form-items input[name='label.nl']").fill("E-mailadres")
    page.locator("#form-items input[name='label.en']").fill("Email address")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.locator("#form-items").get_by_role("button", name="Save item").click()
    expect(page.locator("#form-items > li").first).to_contain_text("E-mailadres")
    expect(preview_labels(page).first).to_have_text("E-mailadres")  # the preview: the default language
    expect(page.frame_locator("#form-preview").get_by_role("button", name="Verstuur")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    db.session.expire_all()
    form = db.session.get(Form, page.form_id)
    assert form.settings["languages"] == ["nl", "en"] and form.settings["submit_label"] == {
        "nl": "Verstuur",
        "en": "Send",
    }
    assert form.items[0]["label"] == {"nl": "E-mailadres", "en": "Email address"}
    assert script_errors(page) == []
