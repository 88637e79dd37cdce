"""The text part made for HTML-only templates, on starter-style templates (tests/email_templates)."""

from pathlib import Path

import pytest

from tests.factories import make_database
from webapp.email import delivery, sending, templates
from webapp.email.templates import TemplateValues
from webapp.email.text_part import text_of
from webapp.extensions import db
from webapp.profiles import profiles
from webapp.profiles.events import Origin

TEMPLATES = Path(__file__).parent.parent / "email_templates"


@pytest.fixture
def profile(account):
    database = make_database(account)
    values = {"Email": "dana@example.com", "FirstName": "Dana"}
    return profiles.create_profile(account, database.id, values, origin=Origin("admin"))


def sent_text(account, profile, name: str) -> str:
    html = (TEMPLATES / f"{name}.html").read_text()
    template = templates.save_template(account, TemplateValues(name=name, subject="S", html=html))
    sending.send_template_email(account.id, template.id, profile.id, message_id=delivery.new_message_id(account.id))
    db.session.commit()
    return delivery.caught_messages(account.id)[0].get_body(("plain",)).get_content().replace("\r\n", "\n")


def test_a_newsletter_keeps_paragraphs_lists_and_link_targets(account, profile):
    text = sent_text(account, profile, "newsletter")
    assert text.startswith(
        "Hallo Dana\n\n"
        "Lees ons artikel over winterbanden <https://shop.example/blog/winterbanden> voor de koude maanden.\n\n"
        "Deze week in de aanbieding:\n\n"
        "  * Regenjassen, 20% korting\n"
        "  * Fietsverlichting vanaf € 9,95\n"
        "  * Gratis onderhoudsbeurt bij een nieuwe fiets\n"
        "Bekijk alle aanbiedingen <https://shop.example/aanbiedingen?utm_source=mail>\n"
        "Fietsenwinkel B.V., Dorpsstraat 1, Utrecht\n\n"
        "Afmelden <http://verrijk.test/p/u/"
    )
    assert "|" not in text and "{{" not in text
    assert text.count("/p/u/") == 1  # the template's own unsubscribe link: no second footer


def test_a_welcome_mail_keeps_numbered_steps_and_mailto(account, profile):
    text = sent_text(account, profile, "welcome")
    assert text.startswith(
        "Welcome, Dana!\n\n"
        "Thanks for signing up.\nHere is what happens next:\n\n"
        " 1. Confirm your address.\n"
        " 2. Tell us what you like in your preferences <https://shop.example/preferences>.\n"
        " 3. Receive our newsletter every Friday.\n\n"
        "Questions? Mail <mailto:help@shop.example>.\n\n"
        "Get started <https://shop.example/start>\n"
    )
    assert text.rstrip().endswith("-- \nUnsubscribe: " + text.rpartition("Unsubscribe: ")[2].strip())


def test_an_order_table_keeps_its_columns():
    text = text_of((TEMPLATES / "order.html").read_text())
    rows = text.splitlines()
    assert [row for row in rows if row.startswith(("Product", "City", "Bike"))] == [
        "Product    Qty  Price",
        "City bike  1    € 499.00",
        "Bike lock  2    € 25.00",
    ]
    assert text.endswith("Track it on the order page <https://shop.example/orders/1234>.")


def test_empty_html_gives_empty_text():
    assert text_of("  ") == ""
    assert text_of('<p><a href="https://x.example/">https://x.example/</a></p>') == "<https://x.example/>"
