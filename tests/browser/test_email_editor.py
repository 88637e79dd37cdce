"""The visual email editor in a real browser: build a template from blocks, save it, and a test send arrives at
a real SMTP server with its HTML and a generated text part; at 375 px the page does not scroll sideways."""

import re

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD, make_account, make_database, make_user
from tests.smtp_server import smtp_server  # noqa: F401
from webapp.email import account_settings, designs
from webapp.email.templates import TemplateValues
from webapp.extensions import db
from webapp.models import EmailTemplate, User
from webapp.profiles.events import Origin
from webapp.profiles.profiles import create_profile

pytestmark = pytest.mark.browser


@pytest.fixture
def editor_page(page, verrijk, ctx):
    user = make_user(make_account("Acme"), "editor")
    database = make_database(user.account)
    page.goto(f"{verrijk.url}/login")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.account, page.database, page.user_id = user.account, database, user.id
    return page


def editor_ready(page):
    page.wait_for_function("() => window.verrijkEmailEditor && window.verrijkEmailEditor.getWrapper()")


def test_build_save_and_send_a_test(editor_page, verrijk, smtp_server):  # noqa: F811
    page = editor_page
    account_settings.update_settings(page.account, smtp_url=smtp_server.url, rate_per_minute=None)
    values = {"Email": "kees@example.nl", "FirstName": "Kees"}
    profile = create_profile(page.account, page.database.id, values, origin=Origin("admin"))
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{verrijk.url}/email/templates/design/new?starter=letter")
    editor_ready(page)
    page.fill("#name", "Welcome")
    page.fill("#subject", "Hello {{ profile.FirstName }}")
    page.select_option("#database_id", str(page.database.id))
    # The block panel offers the blocks; the button block goes into the canvas
    page.locator(".gjs-pn-btn.fa-th-large").first.click()
    expect(page.locator(".gjs-block", has_text="Social").first).to_be_visible()
    expect(page.locator(".gjs-block", has_text="Footer")).to_be_visible()
    # Playwright's mouse cannot carry an HTML5 drag into the canvas frame: drop the block's content as the
    # editor's drop does (the block from the panel, appended to the first column)
    page.evaluate(
        "() => { const ed = window.verrijkEmailEditor;"
        " ed.getWrapper().findType('mj-column')[0].append(ed.Blocks.get('mj-button').get('content')); }"
    )
    expect(page.frame_locator(".gjs-frame").get_by_text("Button", exact=True)).to_have_count(1)
    # A personal value from the menu, into the selected text block
    page.evaluate("() => { const ed = window.verrijkEmailEditor; ed.select(ed.getWrapper().findType('mj-text')[0]); }")
    page.select_option("#merge-field", "{{ profile.LastName }}")
    with page.expect_navigation():
        page.click("#design-save")
    expect(page).to_have_url(re.compile(r"/email/templates/\d+/design$"))
    expect(page.locator(".flash", has_text="The template is saved.")).to_be_visible()
    db.session.expire_all()
    template = db.session.query(EmailTemplate).filter_by(account_id=page.account.id, name="Welcome").one()
    assert template.design["mjml"].startswith("<mjml")
    assert "<mj-button" in template.design["mjml"] and "{{ profile.LastName }}" in template.design["mjml"]
    assert template.design["project"]
    assert "@media" in template.html and "{{ unsubscribe_url }}" in template.html

    # The saved design reopens as it was, and a test send arrives, personalised for the chosen profile
    editor_ready(page)
    expect(page.frame_locator(".gjs-frame").get_by_text("Button", exact=True)).to_have_count(1)
    page.fill("#preview_profile_id", str(profile.id))
    page.fill("#test_addresses", "tester@example.org")
    page.click("#design-test")
    expect(page.locator("#test-send")).to_contain_text("tester@example.org")
    smtp_server.wait_for(1)
    message = smtp_server.messages[0]
    assert message["To"] == "tester@example.org"
    assert message["Subject"] == "[Test] Hello Kees"
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert "Dear Kees" in html and "<script" not in html
    assert "Dear Kees" in text and "Button" in text
    assert page.problems == []


def test_the_design_page_fits_a_phone(editor_page, verrijk):
    page = editor_page
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"{verrijk.url}/email/templates/design/new?starter=letter")  # no social icons from their host
    expect(page.locator(".design-narrow")).to_be_visible()
    expect(page.locator("#design-editor")).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert page.problems == []


def test_a_design_saved_without_a_project_opens_from_its_mjml(editor_page, verrijk):
    page = editor_page
    letter = designs.starter("letter").mjml
    template = designs.save_design(page.account, TemplateValues(name="Letter", subject="Hi"), letter, "")
    db.session.commit()
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{verrijk.url}/email/templates/{template.id}/design")
    expect(page.frame_locator(".gjs-frame").get_by_text("Write your letter here.")).to_be_visible()
    assert page.problems == []


def test_the_editor_speaks_the_admins_language(editor_page, verrijk):
    page = editor_page
    db.session.get(User, page.user_id).language = "nl"
    db.session.commit()
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{verrijk.url}/email/templates/design/new?starter=letter")
    page.wait_for_function("() => window.verrijkEmailEditor && window.verrijkEmailEditor.getWrapper()")
    page.locator(".gjs-pn-btn.fa-th-large").first.click()
    expect(page.locator(".gjs-block", has_text="Knop")).to_be_visible()
    expect(page.locator(".gjs-block", has_text="Voettekst")).to_be_visible()
    expect(page.locator("label[for=merge-field]")).to_have_text("Persoonlijke waarde invoegen")
    assert page.problems == []
