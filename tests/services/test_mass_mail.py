"""A mailing's messages built from a skeleton rendered once per variant (``mass_mail``, ``mime_skeleton``) are the
messages ``send_template_email`` builds one by one: compared byte for byte (the Date and the MIME boundary
aside, which differ between any two messages), for templates with personalisation, tracked links, the
unsubscribe link and footer, the open pixel, and for the cases that must take the per-message way."""

import email.policy
import re

import pytest
from sqlalchemy import select

from tests.factories import make_database
from webapp.email import account_settings, delivery, mass_mail, sending, templates
from webapp.email.mime_skeleton import MimeSkeleton
from webapp.email.templates import TemplateValues
from webapp.extensions import db
from webapp.models import CaughtMail, Profile
from webapp.profiles import profiles
from webapp.profiles.events import Origin

PERSONAL = (
    '<h1>Hello {{ profile.FirstName }} {{ profile["LastName"] }}</h1>'
    '<p>Our <a href="https://shop.example/sale">sale</a> and <a href="https://shop.example/bikes?a=1&amp;b=2">bikes'
    '</a>, <a href="mailto:help@shop.example">help</a>.</p><p>From {{ database }}.</p>'
)
OWN_UNSUBSCRIBE = PERSONAL + '<p><a href="{{ unsubscribe_url }}">Leave</a> ({{ unsubscribe_url }})</p>'
TABLE = "<table><tr><td>{{ profile.FirstName }}</td><td>x</td></tr><tr><td>longer cell</td><td>y</td></tr></table>"
VALUE_IN_LINK = '<p><a href="https://shop.example/{{ profile.FirstName }}">mine</a></p>'
LOGIC = "<p>{% if profile.FirstName %}Hi {{ profile.FirstName }}{% endif %}</p>"
_DATE = re.compile(rb"^Date: [^\r]*\r\n", re.MULTILINE)
_BOUNDARY = re.compile(rb"={15}\d{19}==")


def _comparable(data: bytes) -> bytes:
    return _BOUNDARY.sub(b"BOUNDARY", _DATE.sub(b"Date: DATE\r\n", data))


@pytest.fixture
def people(account):
    database = make_database(account)
    rows = [
        {"Email": "ann@example.com", "FirstName": "Ann", "LastName": "de Vries"},
        {"Email": "jose@example.com", "FirstName": "José", "LastName": "Müller-Lüdenscheidt"},
        {"Email": "amp@example.com", "FirstName": "Tom & Jerry", "LastName": "<b>"},
        {"Email": "empty@example.com", "FirstName": "", "LastName": "x"},
        {"Email": "space@example.com", "FirstName": "Two  spaces", "LastName": "y"},
    ]
    profiles.bulk_create_profiles(account, database.id, rows, origin=Origin("import", reference="import:1"))
    return list(db.session.scalars(select(Profile).where(Profile.database_id == database.id).order_by(Profile.id)))


def _both_ways(account, template_id: int, profile: Profile, number: int, **overrides) -> tuple[bytes, bytes, bool]:
    """(per message, from the skeleton, whether the skeleton's fast path was taken) for one message id."""
    message_id = f"<2026120609{number:04d}.abc{number}@shop.example>"
    sending.send_template_email(account.id, template_id, profile.id, message_id=message_id, **overrides)
    variant = mass_mail.Variant(account, template_id, **overrides)
    filled = []
    original = variant._filled
    variant._filled = lambda *args: filled.append(original(*args)) or filled[-1]  # type: ignore[method-assign]
    variant.send(profile, message_id)
    caught = db.session.scalars(select(CaughtMail.raw).where(CaughtMail.message_id == message_id)).all()
    assert len(caught) == 2
    return caught[0], caught[1], filled[0] is not None


@pytest.mark.parametrize("html", [PERSONAL, OWN_UNSUBSCRIBE])
def test_the_skeleton_gives_the_per_message_bytes_for_plain_substitution(account, people, html):
    template = templates.save_template(
        account, TemplateValues(name="News", subject="News for {{ profile.FirstName }}", html=html)
    )
    fast = 0
    for number, profile in enumerate(people):
        one_by_one, skeleton, took_fast_path = _both_ways(account, template.id, profile, number)
        assert _comparable(skeleton) == _comparable(one_by_one), profile.fields
        fast += took_fast_path
    assert fast == 2  # Ann and José; "Tom & Jerry", the empty and the double-spaced name go the whole way


def test_the_skeleton_takes_a_mailings_subject_and_sender_a_text_part_and_dkim(account, people):
    account_settings.generate_dkim_key(account, domain="shop.example", selector="s1")
    template = templates.save_template(
        account,
        TemplateValues(
            name="News",
            subject="News",
            html=PERSONAL,
            text="Hello {{ profile.FirstName }}, see {{ unsubscribe_url }}",
            reply_to="Desk <desk@shop.example>",
            track_opens=False,
        ),
    )
    one_by_one, skeleton, fast = _both_ways(
        account, template.id, people[1], 1, subject="Sale for {{ profile.FirstName }}", sender="Shop <a@shop.example>"
    )
    assert fast
    unsigned = [data.split(b"\r\nFrom: ", 1)[1] for data in (one_by_one, skeleton)]  # the signature's time differs
    assert _comparable(unsigned[1]) == _comparable(unsigned[0])
    message = email.message_from_bytes(skeleton, policy=email.policy.default)
    assert message["Subject"] == "Sale for José" and message["Reply-To"] == "Desk <desk@shop.example>"


@pytest.mark.parametrize(
    ("html", "content", "derived_text"),
    [(TABLE, True, False), (VALUE_IN_LINK, False, None), (LOGIC, False, None)],
)
def test_templates_the_skeleton_cannot_fill_go_the_whole_way_with_the_same_result(
    account, people, html, content, derived_text
):
    template = templates.save_template(account, TemplateValues(name="News", subject="Hi", html=html))
    variant = mass_mail.Variant(account, template.id)
    assert (variant.content is not None) is content
    if variant.content is not None:
        assert (variant.content.text is not None) is derived_text
    one_by_one, skeleton, fast = _both_ways(account, template.id, people[0], 7)
    assert not fast
    assert _comparable(skeleton) == _comparable(one_by_one)


def test_the_mime_skeleton_writes_headers_and_bodies_as_the_email_package_does():
    cases = [
        ("p1@example.com", "News for P1", "Hello\nthere", "<p>hi</p>"),
        ("José <jose@example.com>", "Nieuws voor José — " + "lang " * 20, "Héllo\n" + "x" * 100, "<p>" + "é" * 300),
        ("p2@example.com", "Привет", "Привет мир " * 30, "<p>Привет</p>" * 50),
        ("p3@example.com", "t", "", "<p>x</p>\r\n<p>y</p>"),
    ]
    unsubscribe = "<https://x.example/p/u/abc.def>, <mailto:unsubscribe+1.abc.def@b.example?subject=unsubscribe>"
    for reply_to in (None, "Desk <desk@shop.example>"):
        skeleton = MimeSkeleton(sender="Shop <news@shop.example>", reply_to=reply_to, with_html=True)
        for to, subject, text, html in cases:
            values = {"to": to, "subject": subject, "text": text, "html": html, "message_id": "<1.a@shop.example>"}
            message = delivery.build_message(
                sender="Shop <news@shop.example>",
                reply_to=reply_to,
                headers={"List-Unsubscribe": unsubscribe, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
                date="Sun, 06 Dec 2026 09:05:00 GMT",
                **values,
            )
            expected = message.as_bytes(policy=email.policy.SMTP)
            filled = skeleton.fill(date="Sun, 06 Dec 2026 09:05:00 GMT", list_unsubscribe=unsubscribe, **values)
            assert filled is not None
            assert _comparable(filled) == _comparable(expected)
        assert (
            skeleton.fill(
                to="a@b.example",
                subject="s",
                date="x",
                message_id="<1@b>",
                list_unsubscribe="<https://x>",
                text="--" + skeleton.boundary.decode(),
                html="<p></p>",
            )
            is None
        )  # the boundary in a body: built the usual way


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("To", "p1@example.com"),
        ("To", "first.last+tag@mail.shop-example.co.uk"),
        ("Message-ID", "<20261206091500.0123456789abcdef@shop.example>"),
        ("Subject", "News for P1"),
        ("Subject", "Sale: 50% off, today only! Don't miss it / really?"),
        ("Subject", "A & B; c-d"),
        ("Subject", "x" * 69),
    ],
)
def test_a_plain_header_is_written_as_the_email_package_writes_it(name, value):
    from webapp.email import mime_skeleton

    parsed = mime_skeleton.POLICY.header_factory(name, value).fold(policy=mime_skeleton.POLICY).encode()
    assert mime_skeleton._AS_IS[name].fullmatch(value)  # the shortcut is taken
    assert mime_skeleton._folded(name, value) == parsed
