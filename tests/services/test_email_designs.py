"""Designs from the visual editor: MJML compiled on the server into responsive HTML, checked for anything
active, stored beside the HTML; the HTML editor keeps or detaches the design; test sends arrive with a text part."""

import lxml.html
import pytest

from tests.factories import make_account, make_database
from tests.smtp_server import smtp_server  # noqa: F401
from webapp.email import account_settings, designs, templates, test_sends
from webapp.email.templates import TemplateValues
from webapp.extensions import db
from webapp.platform.errors import NotFound, ValidationError
from webapp.profiles import profiles
from webapp.profiles.events import Origin

SECTION = "<mjml><mj-body><mj-section><mj-column>{}</mj-column></mj-section></mj-body></mjml>"
TEXT = SECTION.format(
    '<mj-text>Dear {{ profile.FirstName | default("reader") }}</mj-text>'
    '<mj-button href="https://example.com/offer">See the offer</mj-button>'
    '<mj-text><a href="{{ unsubscribe_url }}">Unsubscribe</a></mj-text>'
)


def values(**changes) -> TemplateValues:
    return TemplateValues(**({"name": "News", "subject": "News for {{ profile.FirstName }}"} | changes))


@pytest.fixture
def database(account):
    return make_database(account)


@pytest.fixture
def profile(account, database):
    return profiles.create_profile(
        account, database.id, {"Email": "ann@example.com", "FirstName": "Ann"}, origin=Origin("admin")
    )


def test_a_design_is_stored_beside_its_responsive_html(account, database):
    template = designs.save_design(account, values(database_id=database.id), TEXT, '{"pages": []}')
    db.session.expire_all()
    assert template.design == {"version": 1, "mjml": TEXT, "project": {"pages": []}}
    document = lxml.html.document_fromstring(template.html)
    assert document.find("body") is not None
    assert "@media only screen and (min-width:480px)" in template.html  # columns stack on phones
    assert "{{ unsubscribe_url }}" in template.html and 'href="https://example.com/offer"' in template.html
    assert "fonts.googleapis.com" not in template.html  # no web fonts from a third party
    assert designs.design_of(template) == template.design
    assert designs.active_content(template.html) == []


def test_every_starter_compiles_and_personalises(account, profile):
    assert [starter.key for starter in designs.starters()] == ["newsletter", "announcement", "letter"]
    for starter in designs.starters():
        rendered, errors = designs.preview_design(account, values(), starter.mjml, profile.id)
        assert errors == {} and rendered is not None, starter.key
        assert "Ann" in rendered.html and "Ann" in rendered.text  # the text part is made from the HTML
        assert "Unsubscribe" in rendered.text
    with pytest.raises(NotFound):
        designs.starter("../templates")


@pytest.mark.parametrize(
    "body, reported",
    [
        ("<mj-raw><script>alert(1)</script></mj-raw>", "<script>"),
        ('<mj-text><a href="javascript:alert(1)">x</a></mj-text>', "javascript:"),
        ('<mj-text><a href=" JaVaScRiPt:alert(1)">x</a></mj-text>', "javascript:"),
        ('<mj-text><img src="x" onerror="alert(1)"></mj-text>', "onerror="),
        ("<mj-raw><iframe src='https://evil.example'></iframe></mj-raw>", "<iframe>"),
        ("<mj-raw><form action='https://evil.example'><input name='a'></form></mj-raw>", "<form>"),
        ('<mj-text><p style="background:url(javascript:alert(1))">x</p></mj-text>', "active style"),
    ],
)
def test_active_content_is_refused_and_nothing_is_stored(account, body, reported):
    template = designs.save_design(account, values(), TEXT, "")
    with pytest.raises(ValidationError) as raised:
        designs.save_design(account, values(name="Changed"), SECTION.format(body), "", template.id)
    assert reported in raised.value.errors["design"]
    db.session.expire_all()
    assert (template.name, template.design["mjml"]) == ("News", TEXT)


@pytest.mark.parametrize(
    "mjml_source, message",
    [
        ("", "empty"),
        ("<p>Hello</p>", "not MJML"),
        ("<mjml><mj-body><mj-section>", "cannot be made into email HTML"),
        ("<mjml>" + "x" * designs.MAX_MJML + "</mjml>", "too large"),
    ],
)
def test_a_broken_design_gets_a_clear_error(account, mjml_source, message):
    with pytest.raises(ValidationError) as raised:
        designs.save_design(account, values(), mjml_source, "")
    assert message in raised.value.errors["design"]


@pytest.mark.parametrize("project", ["not json", "[1, 2]"])
def test_a_project_that_cannot_be_read_is_refused(account, project):
    with pytest.raises(ValidationError) as raised:
        designs.save_design(account, values(), TEXT, project)
    assert "cannot be read" in raised.value.errors["design"]


def test_the_html_editor_keeps_the_design_until_the_html_changes(account):
    template = designs.save_design(account, values(), TEXT, "")
    html = template.html
    templates.save_template(account, values(subject="Other subject", html=html), template.id)
    db.session.expire_all()
    assert template.design is not None and template.subject == "Other subject"
    templates.save_template(account, values(html="<p>By hand</p>"), template.id)
    db.session.expire_all()
    assert template.design is None and designs.design_of(template) is None


def test_a_template_written_as_html_opens_as_one_raw_block(account):
    mjml_source = designs.mjml_of_html("<html><body><p>Hello <b>you</b></p></body></html>")
    assert "<mj-raw><p>Hello <b>you</b></p></mj-raw>" in mjml_source
    assert "Hello <b>you</b>" in designs.compile_mjml(mjml_source)


def test_a_test_send_arrives_with_its_text_part(account, profile, smtp_server):  # noqa: F811
    account_settings.update_settings(account, smtp_url=smtp_server.url, rate_per_minute=None)
    designed = designs.with_design(values(database_id=profile.database_id), TEXT, "")
    sent = test_sends.send_test(account, designed, "a@example.org, b@example.org; a@example.org", profile.id)
    assert sent == ["a@example.org", "b@example.org"]
    smtp_server.wait_for(2)
    message = smtp_server.messages[0]
    assert message["Subject"] == "[Test] News for Ann"
    assert "Dear Ann" in message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert "Dear Ann" in text and "See the offer <https://example.com/offer>" in text


def test_a_test_send_without_a_profile_uses_fallbacks(account, smtp_server):  # noqa: F811
    account_settings.update_settings(account, smtp_url=smtp_server.url, rate_per_minute=None)
    test_sends.send_test(account, designs.with_design(values(), TEXT, ""), "a@example.org")
    smtp_server.wait_for(1)
    assert "Dear reader" in smtp_server.messages[0].get_body(("plain",)).get_content()


@pytest.mark.parametrize(
    "addresses, message",
    [
        ("", "Enter the address"),
        ("not-an-address", "Not an email address"),
        (",".join(f"{n}@x.nl" for n in range(6)), "at most 5"),
    ],
)
def test_test_send_addresses_are_checked(account, addresses, message):
    with pytest.raises(ValidationError) as raised:
        test_sends.send_test(account, values(text="Hi"), addresses)
    assert message in raised.value.errors["test_addresses"]


def test_a_test_send_for_another_accounts_profile_is_not_found(account, profile):
    with pytest.raises(NotFound):
        test_sends.send_test(make_account("Other"), values(text="Hi"), "a@example.org", profile.id)
