"""embed.js and a form in several languages (issue 20), in a real browser: the host page's ``<html lang>`` or the
snippet's ``data-lang`` picks the form's language; the answer comes in the language shown."""

import pytest
from playwright.sync_api import expect

from tests.factories import make_database
from webapp.extensions import db
from webapp.models import FormSubmission
from webapp.webforms import builder, items

pytestmark = pytest.mark.browser


def make_bilingual_form(account, origin: str):
    """Email and a consent, written in English (the default) and Dutch."""
    database = make_database(account, "Members", fields={"Email": {"type": "email", "indexed": True}})
    form = builder.create_form(account, database.id, name="Sign-up")
    builder.update_settings(
        account,
        form.id,
        name="Sign-up",
        languages=["en", "nl"],
        submit_label={"en": "Sign me up", "nl": "Schrijf me in"},
        success_message={"en": "Welcome aboard!", "nl": "Welkom aan boord!"},
        min_fill_seconds=0,
        allowed_origins=[origin],
    )
    email = items.add_item(account, form.id, "field", field_id=database.fields[0].id)
    items.update_item(
        account, form.id, email["id"], {"label": {"en": "Email address", "nl": "E-mailadres"}, "required": True}
    )
    consent = items.add_item(account, form.id, "consent")
    text = {"en": "I agree to the terms.", "nl": "Ik ga akkoord met de voorwaarden."}
    terms = {"label": {"en": "Terms", "nl": "Voorwaarden"}, "text": text, "required": True}
    items.update_item(account, form.id, consent["id"], terms)
    db.session.commit()
    return form


def test_a_dutch_page_shows_the_dutch_form_and_is_answered_in_dutch(account, page, host_site, host_page, embed_snippet):
    form = make_bilingual_form(account, host_site.url)
    page.goto(host_page(embed_snippet(form.key), lang="nl"))
    widget = page.locator("[data-verrijk-form]")
    expect(widget.get_by_role("button", name="Schrijf me in")).to_be_visible()
    widget.get_by_role("button", name="Schrijf me in").click()
    expect(widget.get_by_text("Dit veld is verplicht.").first).to_be_visible()  # our own message, in Dutch too
    widget.get_by_label("E-mailadres").fill("ann@example.com")
    widget.get_by_label("Ik ga akkoord met de voorwaarden.").check()
    widget.get_by_role("button", name="Schrijf me in").click()
    expect(widget.get_by_text("Welkom aan boord!")).to_be_visible()
    db.session.expire_all()
    [submission] = db.session.query(FormSubmission).filter_by(form_id=form.id, status="accepted").all()
    assert list(submission.consents.values()) == ["Ik ga akkoord met de voorwaarden."]
    assert page.problems == []


def test_the_snippets_data_lang_comes_before_the_pages_language(account, page, host_site, host_page, embed_snippet):
    form = make_bilingual_form(account, host_site.url)
    snippet = embed_snippet(form.key).replace("<div data-verrijk-form=", '<div data-lang="nl" data-verrijk-form=')
    page.goto(host_page(snippet, lang="en"))
    widget = page.locator("[data-verrijk-form]")
    expect(widget.get_by_label("E-mailadres")).to_be_visible()
    english = host_page(embed_snippet(form.key), lang="en-GB", path="/english")
    page.goto(english)
    expect(page.locator("[data-verrijk-form]").get_by_label("Email address")).to_be_visible()
    assert page.problems == []
