"""Sending a template to a profile: unsubscribe headers and footer, tracking, VERP, DKIM, the log and the event."""

import re

import dkim
import pytest
from sqlalchemy import select

from tests.factories import make_database
from tests.smtp_server import smtp_server  # noqa: F401
from webapp.email import account_settings, delivery, link_tokens, sending, templates
from webapp.email.templates import TemplateValues
from webapp.extensions import db
from webapp.models import ProfileEvent, SentMessage
from webapp.platform.errors import ValidationError
from webapp.profiles import databases, profiles
from webapp.profiles.events import Origin

ADMIN = Origin("admin")
HTML = (
    '<p>Hi {{ profile.FirstName }}, see <a href="https://shop.example/bike?x=1&amp;y=2">bikes</a>, '
    '<a href="mailto:help@example.com">mail us</a>.</p>'
)


@pytest.fixture
def bounce_domain(app):
    app.config["BOUNCE_DOMAIN"] = "bounces.example.org"
    yield "bounces.example.org"
    app.config["BOUNCE_DOMAIN"] = ""


@pytest.fixture
def database(account):
    return make_database(account)


@pytest.fixture
def profile(account, database):
    return profiles.create_profile(account, database.id, {"Email": "ann@example.com", "FirstName": "Ann"}, origin=ADMIN)


def make_template(account, **overrides):
    values = {
        "name": "Welcome",
        "subject": "Welcome {{ profile.FirstName }}",
        "html": HTML,
        "text": "Hi {{ profile.FirstName }}",
        "sender": "Shop <shop@example.com>",
    }
    return templates.save_template(account, TemplateValues(**(values | overrides)))


def send(account, template, profile, message_id=None):
    message_id = message_id or delivery.new_message_id(account.id)
    result = sending.send_template_email(
        account.id, template.id, profile.id, message_id=message_id, origin_reference="followup-run:7"
    )
    db.session.commit()
    return result


def test_a_template_email_carries_unsubscribe_headers_footer_and_tracking(account, profile, bounce_domain):
    template = make_template(account)
    message_id = send(account, template, profile)
    [message] = delivery.caught_messages(account.id)
    assert message["Message-ID"] == message_id
    assert (message["Subject"], message["From"], message["To"]) == (
        "Welcome Ann",
        "Shop <shop@example.com>",
        "ann@example.com",
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, mailto = re.findall(r"<([^>]+)>", message["List-Unsubscribe"])
    assert https.startswith("http://verrijk.test/p/u/")
    assert mailto.startswith("mailto:unsubscribe+") and mailto.endswith(f"@{bounce_domain}?subject=unsubscribe")
    assert link_tokens.parse_address(mailto.removeprefix("mailto:").partition("?")[0])[1] == account.id

    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert "Hi Ann" in html and "Hi Ann" in text
    assert f'href="{https}"' in html and https in text  # the footer
    assert "https://shop.example/bike" not in html  # wrapped
    assert 'href="mailto:help@example.com"' in html  # not wrapped
    [click] = re.findall(r'href="(http://verrijk\.test/p/c/[^"]+)"', html)
    assert link_tokens.unsign("click", click.rsplit("/", 1)[1])["u"] == "https://shop.example/bike?x=1&y=2"
    assert re.search(r'<img src="http://verrijk\.test/p/o/[^"]+" width="1" height="1" alt="">', html)


def test_the_send_is_logged_and_journalled(account, profile):
    template = make_template(account)
    message_id = send(account, template, profile)
    logged = db.session.scalar(select(SentMessage))
    assert (logged.account_id, logged.profile_id, logged.template_id) == (account.id, profile.id, template.id)
    assert (logged.message_id, logged.category, logged.origin_reference) == (message_id, "marketing", "followup-run:7")
    event = db.session.scalar(select(ProfileEvent).where(ProfileEvent.kind == "email_sent"))
    assert (event.profile_id, event.source, event.reference) == (profile.id, "follow-up", "followup-run:7")
    assert event.changes == {"message_id": message_id, "template_id": template.id, "subject": "Welcome Ann"}


def test_tracking_can_be_switched_off(account, profile):
    send(account, make_template(account, track_opens=False, track_clicks=False), profile)
    html = delivery.caught_messages()[0].get_body(("html",)).get_content()
    assert 'href="https://shop.example/bike?x=1&amp;y=2"' in html
    assert "/p/o/" not in html and "/p/c/" not in html
    assert "/p/u/" in html  # the unsubscribe footer stays


def test_a_template_placing_its_own_unsubscribe_link_gets_no_footer(account, profile):
    send(
        account,
        make_template(account, html='<a href="{{ unsubscribe_url }}">Stop</a>', text="Stop: {{ unsubscribe_url }}"),
        profile,
    )
    message = delivery.caught_messages()[0]
    html, text = message.get_body(("html",)).get_content(), message.get_body(("plain",)).get_content()
    assert html.count("/p/u/") == 1 and text.count("/p/u/") == 1
    assert "/p/c/" not in html  # our own links are never wrapped


def test_an_html_only_template_gets_a_text_part(account, profile):
    send(account, make_template(account, text=""), profile)
    text = delivery.caught_messages()[0].get_body(("plain",)).get_content()
    expected = "Hi Ann, see bikes <https://shop.example/bike?x=1&y=2>, mail us <mailto:help@example.com>."
    assert expected in text and "/p/u/" in text  # link targets kept (tests/services/test_text_part.py)


def test_over_smtp_with_dkim_and_verp(account, profile, smtp_server, bounce_domain):  # noqa: F811
    settings = account_settings.generate_dkim_key(account, domain="shop.example", selector="s1")
    account_settings.update_settings(account, smtp_url=smtp_server.url, rate_per_minute=None)
    message_id = send(account, make_template(account), profile)
    smtp_server.wait_for(1)
    envelope = smtp_server.envelopes[0]
    assert link_tokens.parse_address(envelope.mail_from) == ("bounce", account.id, link_tokens.return_key(message_id))
    name, record = account_settings.dkim_dns_record(settings)
    assert dkim.verify(envelope.data, dnsfunc=lambda query, timeout=5: record.encode())
    signed = re.search(rb"h=([^;]+);", envelope.data.replace(b"\r\n", b"").replace(b" ", b"")).group(1).lower()
    assert b"list-unsubscribe" in signed and b"list-unsubscribe-post" in signed


def test_a_profile_without_an_address_is_a_permanent_error(account, database):
    nobody = profiles.create_profile(account, database.id, {"FirstName": "Nobody"}, origin=ADMIN)
    with pytest.raises(delivery.MailPermanentError, match="no email address"):
        send(account, make_template(account), nobody)
    assert delivery.caught_messages() == []


def test_an_unsubscribed_profile_gets_no_marketing_email(account, database, profile):
    interest = databases.create_interest(account, database.id, "Newsletter")
    databases.set_unsubscribe_behaviour(
        account, behaviour="update", interest_values={"Newsletter": False}, database_id=database.id
    )
    profiles.update_profile(account, profile.id, {}, origin=ADMIN, interests={interest.id: False})
    with pytest.raises(delivery.MailPermanentError, match="unsubscribed"):
        send(account, make_template(account), profile)


def test_a_template_broken_since_saving_is_a_validation_error(account, profile):
    template = make_template(account)
    template.text = "{{ profile.FirstName.a.b }}"
    db.session.commit()
    with pytest.raises(ValidationError):
        send(account, template, profile)
    assert delivery.caught_messages() == []


def test_marketing_mail_through_send_mail_gets_the_headers_too(account, profile):
    delivery.send_mail(
        account.id, to="ann@example.com", subject="S", text="T", profile_id=profile.id, category="marketing"
    )
    assert delivery.caught_messages()[0]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    with pytest.raises(delivery.MailPermanentError, match="profile"):
        delivery.send_mail(account.id, to="ann@example.com", subject="S", text="T", category="marketing")
